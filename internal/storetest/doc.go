// Package storetest is the conformance suite that every implementation of
// ion.Stores (SQLite now, PostgreSQL later) must pass, case for case. A new
// store behaviour starts as a case here, so that the intended semantics are
// exercised across stores.
//
// A store's test calls Run with an Opener. Areas and cases run in
// parallel; each case gets fresh stores, an organization and its tenant
// from harness.setup (the table-driven Etags and Lists areas share one
// tenant across their rows).
//
// Semantics the suite pins down that a store must reproduce exactly:
//   - ids are per tenant; another tenant's id answers NOT_FOUND;
//   - lists sort with NULLs last ascending (first descending), text in
//     byte order (PostgreSQL: COLLATE "C"), ties broken by id ascending;
//   - neq and notIn count NULL as different from every value;
//   - like is case-sensitive, ilike case-insensitive with Unicode folding;
//   - revisions and enum values are stored uppercase, whatever case came in;
//   - ids of deleted objects are not reused, even after a restart;
//   - a sandbox name is held by its environment or by a pending request,
//     never by two (VALIDATION_ERROR naming name: taken, pick another);
//   - DeleteSandbox removes the environment's organizations, users, keys
//     and signing keys, and nothing of any other environment;
//   - after DeleteTenant, old and new handles on the tenant answer
//     NOT_FOUND, and calls running during it either finish or answer
//     NOT_FOUND, never another error.
//
// It imports only ion, the standard library and go-cmp, never
// a store package.
package storetest
