package sqlite

import (
	"context"
	"github.com/ionbox/ionbox/internal/sqlcol"
	"slices"
	"strings"

	"github.com/ionbox/ionbox/ion"
)

var procedures = newEntity(entity[ion.Procedure]{
	kind:    "procedure",
	plural:  "procedures",
	table:   "procedures",
	columns: sqlcol.MetaCols + ", t.title, t.description, t.type, t.status, t.export_controlled, t.version, t.attributes",
	fields: map[string]column{
		"title":            {"t.title", kindText},
		"description":      {"t.description", kindText},
		"type":             {"t.type", kindEnum},
		"status":           {"t.status", kindEnum},
		"exportControlled": {"t.export_controlled", kindBool},
		"version":          {"t.version", kindInt},
	},
	scan: func(sc scanner) (p ion.Procedure, err error) {
		err = sc.Scan(append(sqlcol.MetaDest(&p.Meta), &p.Title, &p.Description, &p.Type, &p.Status, &p.ExportControlled, &p.Version,
			sqlcol.JSONList[ion.Attribute]{Dst: &p.Attributes})...)
		return p, err
	},
	meta: func(p ion.Procedure) ion.Meta { return p.Meta },
})

var steps = newEntity(entity[ion.Step]{
	kind:    "step",
	plural:  "steps",
	table:   "steps",
	notNull: []string{"procedureId", "position"},
	columns: sqlcol.MetaCols + ", t.procedure_id, t.parent_id, t.position, t.title, t.content, t.type," +
		" (SELECT json_group_array(e.upstream_step_id ORDER BY e.upstream_step_id) FROM step_edges e WHERE e.step_id = t.id)",
	fields: map[string]column{
		"procedureId": {"t.procedure_id", kindInt},
		"parentId":    {"t.parent_id", kindInt},
		"position":    {"t.position", kindInt},
		"title":       {"t.title", kindText},
		"content":     {"t.content", kindText},
		"type":        {"t.type", kindEnum},
	},
	scan: func(sc scanner) (s ion.Step, err error) {
		err = sc.Scan(append(sqlcol.MetaDest(&s.Meta), &s.ProcedureID, &s.ParentID, &s.Position, &s.Title, &s.Content, &s.Type,
			sqlcol.JSONList[ion.ID]{Dst: &s.UpstreamStepIDs})...)
		return s, err
	},
	meta: func(s ion.Step) ion.Meta { return s.Meta },
})

var stepFields = newEntity(entity[ion.StepField]{
	kind:    "step field",
	plural:  "step fields",
	table:   "step_fields",
	notNull: []string{"stepId"},
	columns: sqlcol.MetaCols + ", t.step_id, t.name, t.type, t.required, t.unit, t.options",
	fields: map[string]column{
		"stepId":   {"t.step_id", kindInt},
		"name":     {"t.name", kindText},
		"type":     {"t.type", kindEnum},
		"required": {"t.required", kindBool},
		"unit":     {"t.unit", kindText},
	},
	scan: func(sc scanner) (f ion.StepField, err error) {
		err = sc.Scan(append(sqlcol.MetaDest(&f.Meta), &f.StepID, &f.Name, &f.Type, &f.Required, &f.Unit, sqlcol.JSONList[string]{Dst: &f.Options})...)
		return f, err
	},
	meta: func(f ion.StepField) ion.Meta { return f.Meta },
})

var (
	procedureTypes    = []string{ion.ProcBuild, ion.ProcTest, ion.ProcInspection, ion.ProcMaintenance}
	procedureStatuses = []string{ion.ProcDraft, ion.ProcInReview, ion.ProcReleased}
	stepTypes         = []string{"DEFAULT", "DATAGRID"}
	fieldTypes        = []string{ion.FieldString, ion.FieldNumber, ion.FieldBoolean, ion.FieldSelect, ion.FieldMultiselect,
		ion.FieldDatetime, ion.FieldSignoff, ion.FieldFileAttachment}
)

// procedureMoves are the status changes a procedure may make: review and
// release, or back from review to draft. RELEASED is final; a change needs
// a new procedure.
var procedureMoves = map[string][]string{
	ion.ProcDraft:    {ion.ProcInReview, ion.ProcReleased},
	ion.ProcInReview: {ion.ProcDraft, ion.ProcReleased},
}

// CreateProcedure creates a procedure. Type defaults to BUILD, Status to
// DRAFT, Version to 1.
func (s *TenantStore) CreateProcedure(ctx context.Context, p ion.Procedure) (ion.Procedure, error) {
	return create(ctx, s, procedures, func(tx *tx) (ion.ID, error) {
		if p.Type == "" {
			p.Type = ion.ProcBuild
		}
		if p.Status == "" {
			p.Status = ion.ProcDraft
		}
		if p.Version == 0 {
			p.Version = 1
		}
		if err := normalizeProcedure(&p); err != nil {
			return 0, err
		}
		return tx.insert(`INSERT INTO procedures (title, description, type, status, export_controlled, version, attributes, etag, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.Title, p.Description, p.Type, p.Status, p.ExportControlled, p.Version, sqlcol.EncodeList(p.Attributes), ion.NewEtag(), tx.nowMicros(), tx.nowMicros())
	})
}

func normalizeProcedure(p *ion.Procedure) (err error) {
	if p.Title = strings.TrimSpace(p.Title); p.Title == "" {
		return ion.Invalid("title", "is required.")
	}
	if p.Type, err = ion.CheckEnum("type", p.Type, procedureTypes...); err != nil {
		return err
	}
	if p.Status, err = ion.CheckEnum("status", p.Status, procedureStatuses...); err != nil {
		return err
	}
	if p.Version < 1 {
		return ion.Invalid("version", "must be at least 1 (got %d).", p.Version)
	}
	return ion.CheckAttributes(p.Attributes)
}

// UpdateProcedure changes a DRAFT procedure. A procedure in another status
// accepts only a status change (see procedureMoves).
func (s *TenantStore) UpdateProcedure(ctx context.Context, patch ion.ProcedurePatch) (ion.Procedure, error) {
	return change(ctx, s, procedures, "update", patch.ID, patch.Etag, func(tx *tx, p ion.Procedure) error {
		if p.Status != ion.ProcDraft {
			for field, set := range map[string]bool{
				"title": patch.Title != nil, "description": patch.Description != nil, "type": patch.Type != nil,
				"exportControlled": patch.ExportControlled != nil, "attributes": patch.Attributes != nil,
			} {
				if set {
					return ion.Invalid(field, "procedure %d is %s; only a DRAFT procedure can be edited. Create a new procedure to change it.", p.ID, p.Status)
				}
			}
		}
		if patch.Status != nil {
			to, err := ion.CheckEnum("status", *patch.Status, procedureStatuses...)
			if err != nil {
				return err
			}
			if to != p.Status && !slices.Contains(procedureMoves[p.Status], to) {
				return ion.Invalid("status", "procedure %d cannot move from %s to %s; allowed: DRAFT to IN_REVIEW or RELEASED, IN_REVIEW to DRAFT or RELEASED.", p.ID, p.Status, to)
			}
			p.Status = to
		}
		if patch.Title != nil {
			p.Title = *patch.Title
		}
		if patch.Description != nil {
			p.Description = *patch.Description
		}
		if patch.Type != nil {
			p.Type = *patch.Type
		}
		if patch.ExportControlled != nil {
			p.ExportControlled = *patch.ExportControlled
		}
		if patch.Attributes != nil {
			p.Attributes = *patch.Attributes
		}
		if err := normalizeProcedure(&p); err != nil {
			return err
		}
		_, err := tx.exec(`UPDATE procedures SET title = ?, description = ?, type = ?, status = ?, export_controlled = ?, attributes = ?,
			etag = ?, updated_at = ? WHERE id = ?`,
			p.Title, p.Description, p.Type, p.Status, p.ExportControlled, sqlcol.EncodeList(p.Attributes), ion.NewEtag(), tx.nowMicros(), p.ID)
		return err
	})
}

// DeleteProcedure deletes a DRAFT procedure with its steps and fields,
// unless runs were made from it (CONFLICT).
func (s *TenantStore) DeleteProcedure(ctx context.Context, id ion.ID, etag string) error {
	return remove(ctx, s, procedures, id, etag, func(tx *tx, p ion.Procedure) error {
		if p.Status != ion.ProcDraft {
			return ion.Invalid("id", "procedure %d is %s; only a DRAFT procedure can be deleted.", p.ID, p.Status)
		}
		if err := checkUnreferenced(tx, "procedure", id, referrer{"runs", "procedure_id", "runs"}); err != nil {
			return err
		}
		return trackWhere(tx, steps, "t.procedure_id = ?", id)
	})
}

// Procedure returns procedure id.
func (s *TenantStore) Procedure(ctx context.Context, id ion.ID) (ion.Procedure, error) {
	return get(ctx, s, procedures, id)
}

// Procedures lists procedures.
func (s *TenantStore) Procedures(ctx context.Context, opts ion.ListOptions) (ion.Page[ion.Procedure], error) {
	return list(ctx, s, procedures, opts)
}

// draftProcedure returns procedure id if it is a DRAFT; otherwise the
// VALIDATION_ERROR names field.
func draftProcedure(tx *tx, field string, id ion.ID) (ion.Procedure, error) {
	p, err := procedures.get(tx.ctx, tx, id)
	if err != nil {
		return p, asInvalidRef(field, err)
	}
	if p.Status != ion.ProcDraft {
		return p, ion.Invalid(field, "procedure %d is %s; only a DRAFT procedure and its steps and fields can be changed.", p.ID, p.Status)
	}
	return p, nil
}

// CreateStep adds a step to a DRAFT procedure. Type defaults to DEFAULT;
// Position 0 puts it after its siblings. The parent and upstream steps must
// be steps of the same procedure.
func (s *TenantStore) CreateStep(ctx context.Context, st ion.Step) (ion.Step, error) {
	return create(ctx, s, steps, func(tx *tx) (ion.ID, error) {
		if _, err := draftProcedure(tx, "procedureId", st.ProcedureID); err != nil {
			return 0, err
		}
		if err := normalizeStep(tx, &st); err != nil {
			return 0, err
		}
		if st.Position == 0 {
			if err := tx.queryRow(`SELECT coalesce(max(position), 0) + 1 FROM steps WHERE procedure_id = ? AND parent_id IS ?`,
				st.ProcedureID, sqlcol.Nullable(st.ParentID)).Scan(&st.Position); err != nil {
				return 0, err
			}
		}
		id, err := tx.insert(`INSERT INTO steps (procedure_id, parent_id, position, title, content, type, etag, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			st.ProcedureID, sqlcol.Nullable(st.ParentID), st.Position, st.Title, st.Content, st.Type, ion.NewEtag(), tx.nowMicros(), tx.nowMicros())
		if err != nil {
			return 0, err
		}
		return id, setStepEdges(tx, id, st.UpstreamStepIDs)
	})
}

// normalizeStep checks the fields create and update share.
func normalizeStep(tx *tx, st *ion.Step) (err error) {
	if st.Type == "" {
		st.Type = "DEFAULT"
	}
	if st.Type, err = ion.CheckEnum("type", st.Type, stepTypes...); err != nil {
		return err
	}
	if st.Position < 0 {
		return ion.Invalid("position", "must not be negative (got %d).", st.Position)
	}
	if st.ParentID != nil {
		if *st.ParentID == st.ID {
			return ion.Invalid("parentId", "a step cannot be its own parent.")
		}
		if err := checkStepOfProcedure(tx, "parentId", st.ProcedureID, *st.ParentID); err != nil {
			return err
		}
	}
	st.UpstreamStepIDs = slices.Compact(slices.Sorted(slices.Values(st.UpstreamStepIDs)))
	for _, up := range st.UpstreamStepIDs {
		if up == st.ID {
			return ion.Invalid("upstreamStepIds", "step %d cannot be upstream of itself.", up)
		}
		if err := checkStepOfProcedure(tx, "upstreamStepIds", st.ProcedureID, up); err != nil {
			return err
		}
	}
	return nil
}

func checkStepOfProcedure(tx *tx, field string, procedureID, stepID ion.ID) error {
	var pid ion.ID
	err := tx.queryRow(`SELECT procedure_id FROM steps WHERE id = ?`, stepID).Scan(&pid)
	if err != nil || pid != procedureID {
		if err == nil || isNoRows(err) {
			return ion.Invalid(field, "step %d is not a step of procedure %d.", stepID, procedureID)
		}
		return err
	}
	return nil
}

// setStepEdges replaces step id's upstream steps.
func setStepEdges(tx *tx, id ion.ID, upstream []ion.ID) error {
	if _, err := tx.exec(`DELETE FROM step_edges WHERE step_id = ?`, id); err != nil {
		return err
	}
	for _, up := range upstream {
		if _, err := tx.exec(`INSERT INTO step_edges (step_id, upstream_step_id) VALUES (?, ?)`, id, up); err != nil {
			return err
		}
	}
	return nil
}

// UpdateStep changes a step of a DRAFT procedure. A ParentID of 0 moves the
// step to the top level. Neither the parent chain nor the upstream edges
// may form a cycle.
func (s *TenantStore) UpdateStep(ctx context.Context, p ion.StepPatch) (ion.Step, error) {
	return change(ctx, s, steps, "update", p.ID, p.Etag, func(tx *tx, st ion.Step) error {
		if _, err := draftProcedure(tx, "id", st.ProcedureID); err != nil {
			return err
		}
		if p.Title != nil {
			st.Title = *p.Title
		}
		if p.Content != nil {
			st.Content = *p.Content
		}
		if p.Type != nil {
			st.Type = *p.Type
		}
		if p.Position != nil {
			st.Position = *p.Position
		}
		if p.ParentID != nil {
			st.ParentID = p.ParentID
			if *p.ParentID == 0 {
				st.ParentID = nil
			}
		}
		if p.UpstreamStepIDs != nil {
			st.UpstreamStepIDs = *p.UpstreamStepIDs
		}
		if err := normalizeStep(tx, &st); err != nil {
			return err
		}
		if p.ParentID != nil && st.ParentID != nil {
			// The new parent must not be this step's descendant.
			var cycle bool
			if err := tx.queryRow(`WITH RECURSIVE up(id) AS (
					SELECT ? UNION SELECT s.parent_id FROM steps s JOIN up ON s.id = up.id WHERE s.parent_id IS NOT NULL
				) SELECT EXISTS (SELECT 1 FROM up WHERE id = ?)`, *st.ParentID, st.ID).Scan(&cycle); err != nil {
				return err
			}
			if cycle {
				return ion.Invalid("parentId", "step %d is inside step %d; a step cannot move under its own descendant.", *st.ParentID, st.ID)
			}
		}
		if p.UpstreamStepIDs != nil {
			if err := checkNoEdgeCycle(tx, "step_edges", "step_id", "upstream_step_id", st.ID, st.UpstreamStepIDs); err != nil {
				return err
			}
			if err := setStepEdges(tx, st.ID, st.UpstreamStepIDs); err != nil {
				return err
			}
		}
		_, err := tx.exec(`UPDATE steps SET parent_id = ?, position = ?, title = ?, content = ?, type = ?, etag = ?, updated_at = ? WHERE id = ?`,
			sqlcol.Nullable(st.ParentID), st.Position, st.Title, st.Content, st.Type, ion.NewEtag(), tx.nowMicros(), st.ID)
		return err
	})
}

// checkNoEdgeCycle refuses upstream edges from id to upstream when id is
// already (transitively) upstream of one of them.
func checkNoEdgeCycle(tx *tx, table, stepCol, upCol string, id ion.ID, upstream []ion.ID) error {
	if len(upstream) == 0 {
		return nil
	}
	var cycle bool
	err := tx.queryRow(`WITH RECURSIVE up(id) AS (
			SELECT value FROM json_each(?)
			UNION SELECT e.`+upCol+` FROM `+table+` e JOIN up ON e.`+stepCol+` = up.id
		) SELECT EXISTS (SELECT 1 FROM up WHERE id = ?)`, sqlcol.EncodeList(upstream), id).Scan(&cycle)
	if err != nil {
		return err
	}
	if cycle {
		return ion.Invalid("upstreamStepIds", "step %d is already upstream of one of %v; these edges would make a cycle.", id, upstream)
	}
	return nil
}

// DeleteStep deletes a step of a DRAFT procedure, with its sub-steps,
// fields and edges. Steps that waited on it get a new etag, as their
// upstream ids change.
func (s *TenantStore) DeleteStep(ctx context.Context, id ion.ID, etag string) error {
	return remove(ctx, s, steps, id, etag, func(tx *tx, st ion.Step) error {
		if _, err := draftProcedure(tx, "id", st.ProcedureID); err != nil {
			return err
		}
		if err := trackWhere(tx, steps, "t.procedure_id = ?", st.ProcedureID); err != nil {
			return err
		}
		_, err := tx.exec(`WITH RECURSIVE sub(id) AS (SELECT ? UNION SELECT s.id FROM steps s JOIN sub ON s.parent_id = sub.id)
			UPDATE steps SET etag = new_etag(), updated_at = ?
			WHERE id NOT IN (SELECT id FROM sub) AND id IN (SELECT step_id FROM step_edges WHERE upstream_step_id IN (SELECT id FROM sub))`,
			id, tx.nowMicros())
		return err
	})
}

// Step returns step id.
func (s *TenantStore) Step(ctx context.Context, id ion.ID) (ion.Step, error) {
	return get(ctx, s, steps, id)
}

// Steps lists steps.
func (s *TenantStore) Steps(ctx context.Context, opts ion.ListOptions) (ion.Page[ion.Step], error) {
	return list(ctx, s, steps, opts)
}

// draftStep returns step id if its procedure is a DRAFT.
func draftStep(tx *tx, field string, id ion.ID) (ion.Step, error) {
	st, err := steps.get(tx.ctx, tx, id)
	if err != nil {
		return st, asInvalidRef(field, err)
	}
	_, err = draftProcedure(tx, field, st.ProcedureID)
	return st, err
}

// CreateStepField adds a field to a step of a DRAFT procedure. SELECT and
// MULTISELECT fields need options.
func (s *TenantStore) CreateStepField(ctx context.Context, f ion.StepField) (ion.StepField, error) {
	return create(ctx, s, stepFields, func(tx *tx) (ion.ID, error) {
		if _, err := draftStep(tx, "stepId", f.StepID); err != nil {
			return 0, err
		}
		if err := checkFieldDef(&f.Name, &f.Type, f.Options); err != nil {
			return 0, err
		}
		f.Unit = trimmed(f.Unit)
		return tx.insert(`INSERT INTO step_fields (step_id, name, type, required, unit, options, etag, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			f.StepID, f.Name, f.Type, f.Required, sqlcol.Nullable(f.Unit), sqlcol.EncodeList(f.Options), ion.NewEtag(), tx.nowMicros(), tx.nowMicros())
	})
}

// checkFieldDef checks a (run) step field's name, type and options.
func checkFieldDef(name, typ *string, options []string) (err error) {
	if *name = strings.TrimSpace(*name); *name == "" {
		return ion.Invalid("name", "is required.")
	}
	if *typ, err = ion.CheckEnum("type", *typ, fieldTypes...); err != nil {
		return err
	}
	if (*typ == ion.FieldSelect || *typ == ion.FieldMultiselect) && len(options) == 0 {
		return ion.Invalid("options", "a %s field needs at least one option.", *typ)
	}
	seen := map[string]bool{}
	for _, o := range options {
		if o == "" || seen[o] {
			return ion.Invalid("options", "options must be non-empty and distinct (%q).", o)
		}
		seen[o] = true
	}
	return nil
}

// UpdateStepField changes a field of a step of a DRAFT procedure. An empty
// Unit clears it.
func (s *TenantStore) UpdateStepField(ctx context.Context, p ion.StepFieldPatch) (ion.StepField, error) {
	return change(ctx, s, stepFields, "update", p.ID, p.Etag, func(tx *tx, f ion.StepField) error {
		if _, err := draftStep(tx, "id", f.StepID); err != nil {
			return err
		}
		if p.Name != nil {
			f.Name = *p.Name
		}
		if p.Type != nil {
			f.Type = *p.Type
		}
		if p.Required != nil {
			f.Required = *p.Required
		}
		if p.Unit != nil {
			f.Unit = trimmed(p.Unit)
		}
		if p.Options != nil {
			f.Options = *p.Options
		}
		if err := checkFieldDef(&f.Name, &f.Type, f.Options); err != nil {
			return err
		}
		_, err := tx.exec(`UPDATE step_fields SET name = ?, type = ?, required = ?, unit = ?, options = ?, etag = ?, updated_at = ? WHERE id = ?`,
			f.Name, f.Type, f.Required, sqlcol.Nullable(f.Unit), sqlcol.EncodeList(f.Options), ion.NewEtag(), tx.nowMicros(), f.ID)
		return err
	})
}

// DeleteStepField deletes a field of a step of a DRAFT procedure.
func (s *TenantStore) DeleteStepField(ctx context.Context, id ion.ID, etag string) error {
	return remove(ctx, s, stepFields, id, etag, func(tx *tx, f ion.StepField) error {
		_, err := draftStep(tx, "id", f.StepID)
		return err
	})
}

// StepField returns field id.
func (s *TenantStore) StepField(ctx context.Context, id ion.ID) (ion.StepField, error) {
	return get(ctx, s, stepFields, id)
}

// StepFields lists step fields.
func (s *TenantStore) StepFields(ctx context.Context, opts ion.ListOptions) (ion.Page[ion.StepField], error) {
	return list(ctx, s, stepFields, opts)
}
