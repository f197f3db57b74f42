// Package sqlcol holds the column encodings both SQL stores (internal/sqlite
// and internal/postgres) share, so that they write and read values alike:
// JSON array columns, times as Unix microseconds (UTC), the Meta columns of
// every mutable row, optional query arguments, and the projection that reads
// only the columns a list asks for (ion.ListOptions.Fields). It imports only ion and
// the standard library, and knows nothing of either database driver.
package sqlcol
