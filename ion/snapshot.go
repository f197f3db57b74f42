package ion

import (
	"context"
	"time"
)

// A snapshot sandbox starts as a copy of one production organization's data
// in which every sensitive value has been replaced before anyone can read
// it. The store copies; a ScrubPlan (made by internal/scrub from the scrub
// policy) says, for each column, what the copy holds instead of the source
// value.

// ScrubPlan tells a snapshot what to do with each column of the tenant
// schema. A store refuses to copy a text column the plan has no rule for,
// so that a column added by a later migration is never copied unscrubbed
// by accident.
type ScrubPlan interface {
	// Rule returns the rule for column of table; ok is false if the plan
	// has none.
	Rule(table, column string) (rule ColumnRule, ok bool)
	// Omits reports whether table's rows are never copied into a snapshot
	// (webhook configuration and deliveries, idempotency records): the
	// sandbox starts with that table empty.
	Omits(table string) bool
}

// ColumnRule is what a snapshot does with one column.
type ColumnRule struct {
	// Keep copies the column as it is. The other fields are then unused.
	Keep bool
	// Aux names another column of the same row whose value Scrub and Check
	// also get (run step field values are scrubbed by the field's type);
	// "" for none, and aux is then "".
	Aux string
	// Scrub returns the value the copy holds in place of v. v and the
	// result are nil (NULL), a string or a float64; a rule on a NOT NULL
	// column never returns nil.
	Scrub func(v any, aux string) any
	// Check reports whether v is a value Scrub can return: the snapshot's
	// verification runs it on every scrubbed value of the copy, and a
	// copy with a value that fails is never made reachable.
	Check func(v any, aux string) bool
}

// Snapshot progress phases.
const (
	SnapshotCopying   = "copying"   // copying and scrubbing rows
	SnapshotVerifying = "verifying" // checking every scrubbed value of the copy
)

// SnapshotProgress is how far a snapshot has got: Done of Total rows in the
// current phase.
type SnapshotProgress struct {
	Phase string `json:"phase"`
	Done  int64  `json:"done"`
	Total int64  `json:"total"`
}

// SnapshotStats says what a snapshot did.
type SnapshotStats struct {
	Rows      int64         // rows copied
	Scrubbed  int64         // values the plan replaced
	CopyTime  time.Duration // copying and scrubbing
	CheckTime time.Duration // verifying
}

// SnapshotStores makes scrubbed copies of tenants. It is part of Stores.
type SnapshotStores interface {
	// SnapshotTenant replaces the data of tenant `to`, which must exist
	// and must not be in use yet (a sandbox still provisioning), with a
	// copy of tenant `from` as of one consistent point in time, scrubbed
	// by plan: the copy is built aside, every scrubbed value is checked
	// with its rule's Check and every table's row count against the
	// source, and only then does it become `to`'s data. The source values
	// of scrubbed columns are never written where `to`'s files or schema
	// are. progress, if not nil, is called as rows are copied and checked.
	//
	// If it fails or ctx ends, `to` is left as it was and nothing of the
	// copy remains (a crash leaves only temporary files or schemas that
	// the store removes when it is next opened). NOT_FOUND for an unknown
	// tenant; VALIDATION_ERROR naming "policy" when plan has no rule for a
	// text column of the schema or a rule names a column it does not have.
	SnapshotTenant(ctx context.Context, from, to string, plan ScrubPlan, progress func(SnapshotProgress)) (SnapshotStats, error)
}
