package storetest

import "strings"

// BulkTable is one table of a large production organization that the
// snapshot benchmarks create straight in SQL (creating a million rows
// through the store API would take far longer than what is measured).
type BulkTable struct {
	Table string
	Rows  int
	Cols  string
	// Exprs computes Cols from i, 1..Rows, with {ETAG}, {NOW}, {FALSE}
	// standing for the dialect's spelling.
	Exprs string
}

// BulkOrganization is a production organization of one million rows in
// which every scrubbed column holds realistic, sensitive-looking values:
// 107,790 parts, 300,000 inventory units, 200,000 run steps and 200,000 run
// step field values, 50,000 runs, and so on.
var BulkOrganization = []BulkTable{
	{"locations", 100, "name, available, etag, created_at, updated_at", "'Shelf ' || i, {TRUE}, {ETAG}, {NOW}, {NOW}"},
	{"units_of_measurement", 10, "type, etag, created_at, updated_at", "'unit-' || i, {ETAG}, {NOW}, {NOW}"},
	{"suppliers", 1000, "name, attributes, etag, created_at, updated_at",
		`'Supplier ' || (i % 500), '[{"key":"contactName","type":"STRING","value":"Contact ' || i || '"},{"key":"email","type":"STRING","value":"sales' || i || '@supplier.example"},{"key":"terms","type":"STRING","value":"net 30"}]', {ETAG}, {NOW}, {NOW}`},
	{"parts", 107790, "part_number, revision, description, part_type, tracking_type, status, cost, attributes, etag, created_at, updated_at",
		`'PN-' || i, 'A', 'Bracket, anodised aluminium, for programme ' || (i % 97) || ' of customer ' || (i % 13), 'PART', CASE i % 3 WHEN 0 THEN 'SERIAL' WHEN 1 THEN 'LOT' ELSE NULL END, 'RELEASED', i * 0.01, '[{"key":"owner","type":"STRING","value":"Engineer ' || (i % 300) || '"},{"key":"color","type":"STRING","value":"blue"}]', {ETAG}, {NOW}, {NOW}`},
	{"mbom_items", 50000, "part_id, parent_id, quantity, etag, created_at, updated_at", "i + 1, 50001 + (i % 1000), 2, {ETAG}, {NOW}, {NOW}"},
	{"purchase_orders", 10000, "status, supplier_id, attributes, etag, created_at, updated_at",
		`'DRAFT', 1 + (i % 1000), '[{"key":"buyer","type":"STRING","value":"Buyer ' || (i % 40) || '"}]', {ETAG}, {NOW}, {NOW}`},
	{"purchase_order_lines", 40000, "purchase_order_id, part_id, quantity, status, description, etag, created_at, updated_at",
		"1 + (i % 10000), 1 + (i % 107790), 3, 'DRAFT', 'Expedite, call Dana at the plant about line ' || i, {ETAG}, {NOW}, {NOW}"},
	{"part_inventories", 300000, "part_id, serial_number, quantity, location_id, unit_of_measure_id, cost, status, attributes, etag, created_at, updated_at",
		`1 + (i % 107790), 'SN-' || i, 1, 1 + (i % 100), 1 + (i % 10), i * 0.1, 'AVAILABLE', '[{"key":"inspectionNote","type":"STRING","value":"checked by Lee, scratch on side ' || i || '"}]', {ETAG}, {NOW}, {NOW}`},
	{"procedures", 1000, "title, description, type, status, export_controlled, version, attributes, etag, created_at, updated_at",
		"'Procedure ' || i, 'Assemble the housing; torque to spec ' || i, 'BUILD', 'RELEASED', {FALSE}, 1, '[]', {ETAG}, {NOW}, {NOW}"},
	{"steps", 10000, "procedure_id, position, title, content, type, etag, created_at, updated_at",
		"1 + (i % 1000), i, 'Step ' || i, 'Fit the bracket with four M4 screws and ask the shift lead to check ' || i, 'DEFAULT', {ETAG}, {NOW}, {NOW}"},
	{"step_fields", 10000, "step_id, name, type, required, options, etag, created_at, updated_at",
		"i, 'Torque', 'NUMBER', {FALSE}, '[]', {ETAG}, {NOW}, {NOW}"},
	{"runs", 50000, "title, status, procedure_id, part_id, part_inventory_id, archived, attributes, etag, created_at, updated_at",
		`'PN-' || i || ' - SN-' || i, 'TODO', 1 + (i % 1000), 1 + (i % 107790), i, {FALSE}, '[{"key":"operator","type":"STRING","value":"Operator ' || (i % 200) || '"}]', {ETAG}, {NOW}, {NOW}`},
	{"run_steps", 200000, "run_id, origin_step_id, position, title, content, status, etag, created_at, updated_at",
		"1 + (i % 50000), 1 + (i % 10000), i, 'Step ' || i, 'Fit the bracket with four M4 screws and ask the shift lead to check ' || i, 'TODO', {ETAG}, {NOW}, {NOW}"},
	{"run_step_fields", 200000, "run_step_id, name, type, required, options, value, etag, created_at, updated_at",
		`i, 'Field ' || (i % 4), CASE i % 4 WHEN 0 THEN 'STRING' WHEN 1 THEN 'SIGNOFF' WHEN 2 THEN 'NUMBER' ELSE 'FILE_ATTACHMENT' END, {FALSE}, '[]', CASE i % 4 WHEN 0 THEN '"looks fine, batch ' || i || '"' WHEN 1 THEN '"Signer ' || (i % 50) || '"' WHEN 2 THEN '' || (i % 90) ELSE '"file-' || i || '"' END, {ETAG}, {NOW}, {NOW}`},
	{"issues", 20000, "title, status, run_id, cause_condition, expected_condition, disposition, attributes, etag, created_at, updated_at",
		"'Scratch found by Kim on unit ' || i, 'PENDING', 1 + (i % 50000), 'Dropped during transfer ' || i, 'No scratches', 'Rework', '[]', {ETAG}, {NOW}, {NOW}"},
	{"teams", 100, "name, user_ids, etag, created_at, updated_at", "'Team ' || i, '[1,2,3]', {ETAG}, {NOW}, {NOW}"},
}

// BulkRows is the number of rows in BulkOrganization.
func BulkRows() int {
	n := 0
	for _, t := range BulkOrganization {
		n += t.Rows
	}
	return n
}

// BulkExprs returns t.Exprs in a dialect: etag, now, true and false are
// the expressions of the dialect.
func (t BulkTable) BulkExprs(etag, now, trueV, falseV string) string {
	return strings.NewReplacer("{ETAG}", etag, "{NOW}", now, "{TRUE}", trueV, "{FALSE}", falseV).Replace(t.Exprs)
}
