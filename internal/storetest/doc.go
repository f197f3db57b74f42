// Package storetest is the conformance suite that every implementation of
// ion.Stores (SQLite now, PostgreSQL later) must pass, case for case. A new
// store behaviour starts as a case here, so that the intended semantics are
// exercised across stores.
//
// A store's test calls Run with an Opener. Every case runs in parallel on
// its own stores and organization, set up by harness.setup.
//
// Semantics the suite pins down that a store must reproduce exactly:
//   - ids are per tenant; another tenant's id answers NOT_FOUND;
//   - lists sort with NULLs last ascending (first descending), text in
//     byte order (PostgreSQL: COLLATE "C"), ties broken by id ascending;
//   - neq and notIn count NULL as different from every value;
//   - like is case-sensitive, ilike case-insensitive with Unicode folding.
//
// It imports only ion and testing libraries (testing, go-cmp, uuid), never
// a store package.
package storetest
