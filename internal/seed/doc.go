// Package seed generates the demo factory that a seeded sandbox starts
// with: parts with multi-level mBOMs and substitutes, locations, units,
// serial- and lot-tracked inventory in every status the API can produce,
// procedures of each type with steps, fields and step dependencies, runs in
// every status with field values, build requirements and installations
// that form real as-built trees, issues, suppliers and purchase orders.
//
// The data is written through ion.TenantStore, one call at a time in a
// fixed order, so that every rule of the domain (derived statuses,
// tracking, installation checks) holds exactly as for data an integration
// writes, and the same Version and Size always give the same rows with the
// same ids. Times are not part of that promise: the store stamps them, and
// a seeded sandbox gets its times from the template it is cloned from (see
// ion.TenantTemplates), relative to when it was provisioned.
//
// Two sizes: SizeSmall (the default, for onboarding: a few thousand rows,
// built in about a second) and SizeLarge (at least 1,000,000 rows, for
// performance work; building it takes minutes, once per seed version and
// deployment, after which sandboxes are cloned from the template).
//
// It imports only package ion; internal/sandbox decides when to build the
// templates and clones sandboxes from them.
package seed
