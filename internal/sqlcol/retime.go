package sqlcol

import (
	"fmt"
	"strings"
	"time"
)

// A template (see ion.TenantTemplates) is retimed when a tenant is loaded
// from it, so that its data looks recent whenever it is provisioned: the
// times a build of the template happened to get are replaced by times
// computed from `at` and each row's id alone, which also makes them the
// same on every build and in both stores. Both stores run the same
// statements (their tenant tables and time columns have the same names,
// and both hold times as Unix microseconds).
//
// Rows are spread evenly by id, so that later ids are later in time:
// reference data (parts, mBOMs, locations, procedures, …) over the 180 to
// 90 days before `at`, activity (inventory, runs, purchase orders, issues,
// …) over the 90 days before `at` up to an hour before it. A row that was
// never changed after it was made keeps updated_at = created_at; a changed
// one gets an updated_at up to three days later (never after `at`). A run
// that started did so an hour after it was made, and finished four hours
// after; a purchase order line that has a need date needs its part 7 to 66
// days after `at`.

// RetimedTables lists the tenant tables with times, each with its span.
var RetimedTables = []RetimedTable{
	{Name: "parts", Reference: true},
	{Name: "mbom_items", Reference: true},
	{Name: "mbom_substitutes", Reference: true},
	{Name: "locations", Reference: true},
	{Name: "units_of_measurement", Reference: true},
	{Name: "suppliers", Reference: true},
	{Name: "procedures", Reference: true},
	{Name: "steps", Reference: true},
	{Name: "step_fields", Reference: true},
	{Name: "teams", Reference: true},
	{Name: "purchase_orders"},
	{Name: "purchase_order_lines"},
	{Name: "part_inventories"},
	{Name: "runs"},
	{Name: "run_steps"},
	{Name: "run_step_fields"},
	{Name: "build_requirements"},
	{Name: "abom_installations"},
	{Name: "issues"},
}

// RetimedTable is a tenant table whose times a retime rewrites.
type RetimedTable struct {
	Name      string
	Reference bool // reference data: older than activity
}

const (
	microsPerHour = int64(time.Hour / time.Microsecond)
	microsPerDay  = 24 * microsPerHour
)

// RetimeStatement is the UPDATE that retimes table t in a tenant whose
// largest id in t is maxID (0: nothing to do, ""), with times ending at
// `at`. qualified is the table's name as the statement must spell it
// (e.g. schema-qualified and quoted).
func RetimeStatement(t RetimedTable, qualified string, maxID int64, at time.Time) string {
	sets := RetimeAssignments(t, maxID, at)
	if len(sets) == 0 {
		return ""
	}
	parts := make([]string, len(sets))
	for i, a := range sets {
		parts[i] = a.Column + " = " + a.Expr
	}
	return "UPDATE " + qualified + " SET " + strings.Join(parts, ", ")
}

// Assignment is one column a retime sets and the expression it sets it
// to, in terms of the row's values before the retime.
type Assignment struct{ Column, Expr string }

// RetimeAssignments are RetimeStatement's assignments, for a store that
// retimes rows as it copies them (an INSERT … SELECT whose select list has
// the expressions in place of the columns): the expressions read only the
// row's own columns as they were. None when maxID is 0.
func RetimeAssignments(t RetimedTable, maxID int64, at time.Time) []Assignment {
	if maxID <= 0 {
		return nil
	}
	end := ToMicros(at) - microsPerHour
	span := 90*microsPerDay - microsPerHour
	if t.Reference {
		end, span = ToMicros(at)-90*microsPerDay, 90*microsPerDay
	}
	// Micros per id, at least 1, so that the arithmetic stays far from
	// overflow however many rows there are.
	step := max(1, span/maxID)
	atMicros := ToMicros(at)
	created := fmt.Sprintf("(%d - (%d - id) * %d)", end, maxID, step)
	capped := func(expr string) string {
		return fmt.Sprintf("(CASE WHEN %s > %d THEN %d ELSE %s END)", expr, atMicros, atMicros, expr)
	}
	sets := []Assignment{
		{"created_at", created},
		{"updated_at", fmt.Sprintf("CASE WHEN updated_at = created_at THEN %s ELSE %s END",
			created, capped(fmt.Sprintf("(%s + (id %% 72 + 1) * %d)", created, microsPerHour)))},
	}
	switch t.Name {
	case "runs":
		sets = append(sets,
			Assignment{"started_at", fmt.Sprintf("CASE WHEN started_at IS NULL THEN NULL ELSE %s END", capped(fmt.Sprintf("(%s + %d)", created, microsPerHour)))},
			Assignment{"completed_at", fmt.Sprintf("CASE WHEN completed_at IS NULL THEN NULL ELSE %s END", capped(fmt.Sprintf("(%s + %d)", created, 4*microsPerHour)))})
	case "purchase_order_lines":
		sets = append(sets, Assignment{"need_date", fmt.Sprintf("CASE WHEN need_date IS NULL THEN NULL ELSE %d + (id %% 60 + 7) * %d END", atMicros, microsPerDay)})
	}
	return sets
}
