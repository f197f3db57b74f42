package sqlite

import (
	"context"
	"fmt"
	"github.com/ionbox/ionbox/internal/sqlcol"
	"slices"
	"strings"
	"time"

	"github.com/ionbox/ionbox/ion"
)

var runs = newEntity(entity[ion.Run]{
	kind:    "run",
	plural:  "runs",
	table:   "runs",
	notNull: []string{"procedureId"},
	columns: sqlcol.MetaCols + ", t.title, t.status, t.procedure_id, t.part_id, t.part_inventory_id, t.started_at, t.completed_at," +
		" t.archived, t.attributes",
	fields: map[string]column{
		"title":           {"t.title", kindText},
		"status":          {"t.status", kindEnum},
		"procedureId":     {"t.procedure_id", kindInt},
		"partId":          {"t.part_id", kindInt},
		"partInventoryId": {"t.part_inventory_id", kindInt},
		"startedAt":       {"t.started_at", kindTime},
		"completedAt":     {"t.completed_at", kindTime},
		"archived":        {"t.archived", kindBool},
	},
	scan: func(sc scanner) (r ion.Run, err error) {
		err = sc.Scan(append(sqlcol.MetaDest(&r.Meta), &r.Title, &r.Status, &r.ProcedureID, &r.PartID, &r.PartInventoryID,
			sqlcol.Micros{Dst: &r.StartedAt}, sqlcol.Micros{Dst: &r.CompletedAt}, &r.Archived, sqlcol.JSONList[ion.Attribute]{Dst: &r.Attributes})...)
		return r, err
	},
	meta: func(r ion.Run) ion.Meta { return r.Meta },
})

var runSteps = newEntity(entity[ion.RunStep]{
	kind:    "run step",
	plural:  "run steps",
	table:   "run_steps",
	notNull: []string{"runId", "position"},
	columns: sqlcol.MetaCols + ", t.run_id, t.origin_step_id, t.parent_id, t.position, t.title, t.content, t.status," +
		" (SELECT json_group_array(e.upstream_run_step_id ORDER BY e.upstream_run_step_id) FROM run_step_edges e WHERE e.run_step_id = t.id)",
	fields: map[string]column{
		"runId":        {"t.run_id", kindInt},
		"originStepId": {"t.origin_step_id", kindInt},
		"parentId":     {"t.parent_id", kindInt},
		"position":     {"t.position", kindInt},
		"title":        {"t.title", kindText},
		"content":      {"t.content", kindText},
		"status":       {"t.status", kindEnum},
	},
	scan: func(sc scanner) (s ion.RunStep, err error) {
		err = sc.Scan(append(sqlcol.MetaDest(&s.Meta), &s.RunID, &s.OriginStepID, &s.ParentID, &s.Position, &s.Title, &s.Content, &s.Status,
			sqlcol.JSONList[ion.ID]{Dst: &s.UpstreamStepIDs})...)
		return s, err
	},
	meta: func(s ion.RunStep) ion.Meta { return s.Meta },
})

var runStepFields = newEntity(entity[ion.RunStepField]{
	kind:    "run step field",
	plural:  "run step fields",
	table:   "run_step_fields",
	notNull: []string{"runStepId"},
	columns: sqlcol.MetaCols + ", t.run_step_id, t.name, t.type, t.required, t.unit, t.options, t.value",
	fields: map[string]column{
		"runStepId": {"t.run_step_id", kindInt},
		"name":      {"t.name", kindText},
		"type":      {"t.type", kindEnum},
		"required":  {"t.required", kindBool},
		"unit":      {"t.unit", kindText},
		"value":     {"t.value", kindText},
	},
	scan: func(sc scanner) (f ion.RunStepField, err error) {
		err = sc.Scan(append(sqlcol.MetaDest(&f.Meta), &f.RunStepID, &f.Name, &f.Type, &f.Required, &f.Unit, sqlcol.JSONList[string]{Dst: &f.Options}, &f.Value)...)
		return f, err
	},
	meta: func(f ion.RunStepField) ion.Meta { return f.Meta },
})

var stepStatuses = []string{ion.StatusTodo, ion.StatusInProgress, ion.StatusComplete, ion.StatusRedline, ion.StatusHold,
	ion.StatusFailed, ion.StatusCanceled}

// CreateRun creates a run of a procedure in any status (ION lets drafts be
// run for trial) and copies the procedure's steps, with their parents and
// upstream edges remapped to the new run steps, and their fields into it.
// With a PartInventoryID the run links that inventory, which is WIP while
// the run is open, and PartID defaults to the inventory's part. Title
// defaults to the procedure's.
func (s *TenantStore) CreateRun(ctx context.Context, r ion.Run) (ion.Run, error) {
	return create(ctx, s, runs, func(tx *tx) (ion.ID, error) {
		proc, err := procedures.get(tx.ctx, tx, r.ProcedureID)
		if err != nil {
			return 0, asInvalidRef("procedureId", err)
		}
		if err := linkRunPart(tx, &r, r.PartInventoryID); err != nil {
			return 0, err
		}
		if r.Title = strings.TrimSpace(r.Title); r.Title == "" {
			r.Title = proc.Title
		}
		if err := ion.CheckAttributes(r.Attributes); err != nil {
			return 0, err
		}
		now := tx.nowMicros()
		id, err := tx.insert(`INSERT INTO runs (title, status, procedure_id, part_id, part_inventory_id, archived, attributes, etag, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`,
			r.Title, ion.StatusTodo, r.ProcedureID, sqlcol.Nullable(r.PartID), sqlcol.Nullable(r.PartInventoryID), sqlcol.EncodeList(r.Attributes), ion.NewEtag(), now, now)
		if err != nil {
			return 0, err
		}
		for _, q := range []struct {
			query string
			args  []any
		}{
			{`INSERT INTO run_steps (run_id, origin_step_id, position, title, content, status, etag, created_at, updated_at)
				SELECT ?, s.id, s.position, s.title, s.content, 'TODO', new_etag(), ?, ? FROM steps s WHERE s.procedure_id = ? ORDER BY s.id`,
				[]any{id, now, now, r.ProcedureID}},
			{`UPDATE run_steps SET parent_id = (
					SELECT p.id FROM steps s JOIN run_steps p ON p.origin_step_id = s.parent_id AND p.run_id = run_steps.run_id
					WHERE s.id = run_steps.origin_step_id)
				WHERE run_id = ?`, []any{id}},
			{`INSERT INTO run_step_edges (run_step_id, upstream_run_step_id)
				SELECT a.id, b.id FROM step_edges e
				JOIN run_steps a ON a.origin_step_id = e.step_id AND a.run_id = ?
				JOIN run_steps b ON b.origin_step_id = e.upstream_step_id AND b.run_id = ?`, []any{id, id}},
			{`INSERT INTO run_step_fields (run_step_id, name, type, required, unit, options, etag, created_at, updated_at)
				SELECT rs.id, f.name, f.type, f.required, f.unit, f.options, new_etag(), ?, ? FROM step_fields f
				JOIN run_steps rs ON rs.origin_step_id = f.step_id AND rs.run_id = ? ORDER BY f.id`, []any{now, now, id}},
		} {
			if _, err := tx.exec(q.query, q.args...); err != nil {
				return 0, fmt.Errorf("copy procedure %d: %w", r.ProcedureID, err)
			}
		}
		if err := trackCreatedWhere(tx, runSteps, "t.run_id = ?", id); err != nil {
			return 0, err
		}
		if r.PartInventoryID != nil {
			return id, rederiveInventory(tx, *r.PartInventoryID)
		}
		return id, nil
	})
}

// linkRunPart checks the run's part and its new inventory invID (if any):
// the inventory's part fills in an empty PartID and must equal a set one.
func linkRunPart(tx *tx, r *ion.Run, invID *ion.ID) error {
	if invID != nil {
		inv, err := partInventories.get(tx.ctx, tx, *invID)
		if err != nil {
			return asInvalidRef("partInventoryId", err)
		}
		if r.PartID == nil {
			r.PartID = &inv.PartID
		} else if *r.PartID != inv.PartID {
			return ion.Invalid("partInventoryId", "part inventory %d is of part %d, but the run is for part %d.", inv.ID, inv.PartID, *r.PartID)
		}
		r.PartInventoryID = invID
	}
	return optRef(tx, "parts", "part", "partId", r.PartID)
}

// UpdateRun changes title, linked inventory (re-deriving the status of the
// old and the new one) or attributes.
func (s *TenantStore) UpdateRun(ctx context.Context, p ion.RunPatch) (ion.Run, error) {
	return change(ctx, s, runs, "update", p.ID, p.Etag, func(tx *tx, r ion.Run) error {
		if p.Title != nil {
			if r.Title = strings.TrimSpace(*p.Title); r.Title == "" {
				return ion.Invalid("title", "must not be empty.")
			}
		}
		old := r.PartInventoryID
		if p.PartInventoryID != nil {
			if err := linkRunPart(tx, &r, p.PartInventoryID); err != nil {
				return err
			}
		}
		if p.Attributes != nil {
			r.Attributes = *p.Attributes
		}
		if err := ion.CheckAttributes(r.Attributes); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE runs SET title = ?, part_id = ?, part_inventory_id = ?, attributes = ?, etag = ?, updated_at = ? WHERE id = ?`,
			r.Title, sqlcol.Nullable(r.PartID), sqlcol.Nullable(r.PartInventoryID), sqlcol.EncodeList(r.Attributes), ion.NewEtag(), tx.nowMicros(), r.ID); err != nil {
			return err
		}
		var affected []ion.ID
		for _, id := range []*ion.ID{old, r.PartInventoryID} {
			if id != nil {
				affected = append(affected, *id)
			}
		}
		return rederiveInventory(tx, affected...)
	})
}

// CancelRun cancels a run: its steps that are not COMPLETE become CANCELED
// and no step changes afterwards. A COMPLETE run cannot be canceled;
// canceling a CANCELED run changes nothing.
func (s *TenantStore) CancelRun(ctx context.Context, id ion.ID, etag string) (ion.Run, error) {
	return change(ctx, s, runs, "cancel", id, etag, func(tx *tx, r ion.Run) error {
		switch r.Status {
		case ion.StatusCanceled:
			return nil
		case ion.StatusComplete:
			return ion.Invalid("id", "run %d is COMPLETE; a completed run cannot be canceled.", r.ID)
		}
		if err := trackWhere(tx, runSteps, "t.run_id = ?", r.ID); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE run_steps SET status = 'CANCELED', etag = new_etag(), updated_at = ? WHERE run_id = ? AND status NOT IN ('COMPLETE', 'CANCELED')`,
			tx.nowMicros(), r.ID); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE runs SET status = 'CANCELED', etag = ?, updated_at = ? WHERE id = ?`, ion.NewEtag(), tx.nowMicros(), r.ID); err != nil {
			return err
		}
		return rederiveLinkedInventory(tx, r)
	})
}

// ArchiveRun archives a run. An archived run no longer holds its inventory
// as WIP.
func (s *TenantStore) ArchiveRun(ctx context.Context, id ion.ID, etag string) (ion.Run, error) {
	return change(ctx, s, runs, "archive", id, etag, func(tx *tx, r ion.Run) error {
		if r.Archived {
			return nil
		}
		if _, err := tx.exec(`UPDATE runs SET archived = 1, etag = ?, updated_at = ? WHERE id = ?`, ion.NewEtag(), tx.nowMicros(), r.ID); err != nil {
			return err
		}
		return rederiveLinkedInventory(tx, r)
	})
}

// DeleteRun deletes a run with its steps and fields, unless issues
// reference it or its steps (CONFLICT).
func (s *TenantStore) DeleteRun(ctx context.Context, id ion.ID, etag string) error {
	return s.update(ctx, "delete run", func(tx *tx) error {
		r, err := runs.get(tx.ctx, tx, id)
		if err != nil {
			return err
		}
		if err := ion.CheckEtag("run", r.Meta, etag); err != nil {
			return err
		}
		var issues int
		if err := tx.queryRow(`SELECT count(*) FROM issues WHERE run_id = ? OR run_step_id IN (SELECT id FROM run_steps WHERE run_id = ?)`,
			id, id).Scan(&issues); err != nil {
			return err
		}
		if issues > 0 {
			return ion.Errorf(ion.ECONFLICT, "run %d cannot be deleted: %d issues reference it or its steps. Delete or change them first.", id, issues)
		}
		tx.setResult("run", id, nil)
		if err := trackWhere(tx, runSteps, "t.run_id = ?", id); err != nil {
			return err
		}
		if err := track(tx, runs, id); err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM runs WHERE id = ?`, id); err != nil {
			return err
		}
		return rederiveLinkedInventory(tx, r)
	})
}

func rederiveLinkedInventory(tx *tx, r ion.Run) error {
	if r.PartInventoryID == nil {
		return nil
	}
	return rederiveInventory(tx, *r.PartInventoryID)
}

// Run returns run id.
func (s *TenantStore) Run(ctx context.Context, id ion.ID) (ion.Run, error) {
	return get(ctx, s, runs, id)
}

// Runs lists runs.
func (s *TenantStore) Runs(ctx context.Context, opts ion.ListOptions) (ion.Page[ion.Run], error) {
	return list(ctx, s, runs, opts)
}

// rederiveRun recomputes a run's status from its steps (unless it was
// canceled), sets StartedAt when a first step has started and CompletedAt
// while it is COMPLETE, and re-derives its inventory if the status changed.
func rederiveRun(tx *tx, runID ion.ID) error {
	r, err := runs.get(tx.ctx, tx, runID)
	if err != nil {
		return err
	}
	if r.Status == ion.StatusCanceled {
		return nil
	}
	rows, err := tx.query(`SELECT status FROM run_steps WHERE run_id = ?`, runID)
	if err != nil {
		return err
	}
	var statuses []string
	for rows.Next() {
		var st string
		if err := rows.Scan(&st); err != nil {
			rows.Close()
			return err
		}
		statuses = append(statuses, st)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return err
	}
	rows.Close()
	status := ion.DeriveRunStatus(statuses)
	started, completed := r.StartedAt, r.CompletedAt
	if started == nil && slices.ContainsFunc(statuses, func(s string) bool { return s != ion.StatusTodo && s != ion.StatusCanceled }) {
		started = &tx.now
	}
	switch {
	case status != ion.StatusComplete:
		completed = nil
	case completed == nil:
		completed = &tx.now
	}
	if status == r.Status && sameTime(started, r.StartedAt) && sameTime(completed, r.CompletedAt) {
		return nil
	}
	if err := track(tx, runs, r.ID); err != nil {
		return err
	}
	if _, err := tx.exec(`UPDATE runs SET status = ?, started_at = ?, completed_at = ?, etag = ?, updated_at = ? WHERE id = ?`,
		status, sqlcol.NullMicros(started), sqlcol.NullMicros(completed), ion.NewEtag(), tx.nowMicros(), r.ID); err != nil {
		return err
	}
	if status != r.Status {
		return rederiveLinkedInventory(tx, r)
	}
	return nil
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// openRun returns run id, refusing (VALIDATION_ERROR on field) a CANCELED
// one, whose steps no longer change.
func openRun(tx *tx, field string, id ion.ID) (ion.Run, error) {
	r, err := runs.get(tx.ctx, tx, id)
	if err != nil {
		return r, asInvalidRef(field, err)
	}
	if r.Status == ion.StatusCanceled {
		return r, ion.Invalid(field, "run %d is CANCELED; its steps and fields can no longer change.", r.ID)
	}
	return r, nil
}

// CreateRunStep adds a step to a run that is not CANCELED. Status defaults
// to TODO; Position 0 puts it after its siblings; parent and upstream steps
// must be steps of the same run.
func (s *TenantStore) CreateRunStep(ctx context.Context, st ion.RunStep) (ion.RunStep, error) {
	return create(ctx, s, runSteps, func(tx *tx) (ion.ID, error) {
		if _, err := openRun(tx, "runId", st.RunID); err != nil {
			return 0, err
		}
		if st.Status == "" {
			st.Status = ion.StatusTodo
		}
		var err error
		if st.Status, err = ion.CheckEnum("status", st.Status, stepStatuses...); err != nil {
			return 0, err
		}
		if st.Position < 0 {
			return 0, ion.Invalid("position", "must not be negative (got %d).", st.Position)
		}
		if st.ParentID != nil {
			if err := checkRunStepOfRun(tx, "parentId", st.RunID, *st.ParentID); err != nil {
				return 0, err
			}
		}
		st.UpstreamStepIDs = slices.Compact(slices.Sorted(slices.Values(st.UpstreamStepIDs)))
		for _, up := range st.UpstreamStepIDs {
			if err := checkRunStepOfRun(tx, "upstreamStepIds", st.RunID, up); err != nil {
				return 0, err
			}
		}
		if err := checkUpstreamComplete(tx, 0, ion.StatusTodo, st.Status, st.UpstreamStepIDs); err != nil {
			return 0, err
		}
		if st.Position == 0 {
			if err := tx.queryRow(`SELECT coalesce(max(position), 0) + 1 FROM run_steps WHERE run_id = ? AND parent_id IS ?`,
				st.RunID, sqlcol.Nullable(st.ParentID)).Scan(&st.Position); err != nil {
				return 0, err
			}
		}
		id, err := tx.insert(`INSERT INTO run_steps (run_id, origin_step_id, parent_id, position, title, content, status, etag, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			st.RunID, sqlcol.Nullable(st.OriginStepID), sqlcol.Nullable(st.ParentID), st.Position, st.Title, st.Content, st.Status, ion.NewEtag(), tx.nowMicros(), tx.nowMicros())
		if err != nil {
			return 0, err
		}
		for _, up := range st.UpstreamStepIDs {
			if _, err := tx.exec(`INSERT INTO run_step_edges (run_step_id, upstream_run_step_id) VALUES (?, ?)`, id, up); err != nil {
				return 0, err
			}
		}
		return id, rederiveRun(tx, st.RunID)
	})
}

func checkRunStepOfRun(tx *tx, field string, runID, stepID ion.ID) error {
	var rid ion.ID
	err := tx.queryRow(`SELECT run_id FROM run_steps WHERE id = ?`, stepID).Scan(&rid)
	if err != nil && !isNoRows(err) {
		return err
	}
	if err != nil || rid != runID {
		return ion.Invalid(field, "run step %d is not a step of run %d.", stepID, runID)
	}
	return nil
}

// checkUpstreamComplete enforces that a step starts (moves from TODO or
// CANCELED to a working status) only once all its upstream steps are
// COMPLETE.
func checkUpstreamComplete(tx *tx, stepID ion.ID, from, to string, upstream []ion.ID) error {
	idle := func(s string) bool { return s == ion.StatusTodo || s == ion.StatusCanceled }
	if !idle(from) || idle(to) || len(upstream) == 0 {
		return nil
	}
	rows, err := tx.query(`SELECT id FROM run_steps WHERE id IN (SELECT value FROM json_each(?)) AND status <> 'COMPLETE' ORDER BY id`, sqlcol.EncodeList(upstream))
	if err != nil {
		return err
	}
	defer rows.Close()
	var open []string
	for rows.Next() {
		var id ion.ID
		if err := rows.Scan(&id); err != nil {
			return err
		}
		open = append(open, fmt.Sprint(id))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(open) > 0 {
		who := "the step"
		if stepID != 0 {
			who = fmt.Sprintf("step %d", stepID)
		}
		return ion.Invalid("status", "%s cannot be %s until its upstream steps are COMPLETE; not complete yet: %s.", who, to, strings.Join(open, ", "))
	}
	return nil
}

// UpdateRunStep changes a step's status, title or content and re-derives
// the run's status. A step starts only when its upstream steps are
// COMPLETE; nothing changes in a CANCELED run.
func (s *TenantStore) UpdateRunStep(ctx context.Context, p ion.RunStepPatch) (ion.RunStep, error) {
	return change(ctx, s, runSteps, "update", p.ID, p.Etag, func(tx *tx, st ion.RunStep) error {
		if _, err := openRun(tx, "id", st.RunID); err != nil {
			return err
		}
		from := st.Status
		if p.Status != nil {
			var err error
			if st.Status, err = ion.CheckEnum("status", *p.Status, stepStatuses...); err != nil {
				return err
			}
		}
		if err := checkUpstreamComplete(tx, st.ID, from, st.Status, st.UpstreamStepIDs); err != nil {
			return err
		}
		if p.Title != nil {
			st.Title = *p.Title
		}
		if p.Content != nil {
			st.Content = *p.Content
		}
		if _, err := tx.exec(`UPDATE run_steps SET status = ?, title = ?, content = ?, etag = ?, updated_at = ? WHERE id = ?`,
			st.Status, st.Title, st.Content, ion.NewEtag(), tx.nowMicros(), st.ID); err != nil {
			return err
		}
		if st.Status != from {
			return rederiveRun(tx, st.RunID)
		}
		return nil
	})
}

// RunStep returns run step id.
func (s *TenantStore) RunStep(ctx context.Context, id ion.ID) (ion.RunStep, error) {
	return get(ctx, s, runSteps, id)
}

// RunSteps lists run steps.
func (s *TenantStore) RunSteps(ctx context.Context, opts ion.ListOptions) (ion.Page[ion.RunStep], error) {
	return list(ctx, s, runSteps, opts)
}

// CreateRunStepField adds a field to a step of a run that is not CANCELED.
// A Value given is checked as UpdateRunStepFieldValue checks it.
func (s *TenantStore) CreateRunStepField(ctx context.Context, f ion.RunStepField) (ion.RunStepField, error) {
	return create(ctx, s, runStepFields, func(tx *tx) (ion.ID, error) {
		st, err := runSteps.get(tx.ctx, tx, f.RunStepID)
		if err != nil {
			return 0, asInvalidRef("runStepId", err)
		}
		if _, err := openRun(tx, "runStepId", st.RunID); err != nil {
			return 0, err
		}
		if err := checkFieldDef(&f.Name, &f.Type, f.Options); err != nil {
			return 0, err
		}
		f.Unit = trimmed(f.Unit)
		value, err := fieldValue(f, f.Value)
		if err != nil {
			return 0, err
		}
		return tx.insert(`INSERT INTO run_step_fields (run_step_id, name, type, required, unit, options, value, etag, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			f.RunStepID, f.Name, f.Type, f.Required, sqlcol.Nullable(f.Unit), sqlcol.EncodeList(f.Options), sqlcol.Nullable(value), ion.NewEtag(), tx.nowMicros(), tx.nowMicros())
	})
}

// fieldValue checks a JSON value against the field and returns its
// normalised form, nil for no value.
func fieldValue(f ion.RunStepField, value *string) (*string, error) {
	if value == nil {
		return nil, nil
	}
	norm, err := ion.CheckFieldValue(f.Name, f.Type, f.Options, *value)
	if err != nil || norm == "null" {
		return nil, err
	}
	return &norm, nil
}

// UpdateRunStepFieldValue records a field's value (JSON, checked against
// the field's type and options and stored normalised); nil clears it.
func (s *TenantStore) UpdateRunStepFieldValue(ctx context.Context, id ion.ID, etag string, value *string) (ion.RunStepField, error) {
	return change(ctx, s, runStepFields, "update", id, etag, func(tx *tx, f ion.RunStepField) error {
		st, err := runSteps.get(tx.ctx, tx, f.RunStepID)
		if err != nil {
			return err
		}
		if _, err := openRun(tx, "id", st.RunID); err != nil {
			return err
		}
		norm, err := fieldValue(f, value)
		if err != nil {
			return err
		}
		_, err = tx.exec(`UPDATE run_step_fields SET value = ?, etag = ?, updated_at = ? WHERE id = ?`, sqlcol.Nullable(norm), ion.NewEtag(), tx.nowMicros(), f.ID)
		return err
	})
}

// RunStepField returns run step field id.
func (s *TenantStore) RunStepField(ctx context.Context, id ion.ID) (ion.RunStepField, error) {
	return get(ctx, s, runStepFields, id)
}

// RunStepFields lists run step fields.
func (s *TenantStore) RunStepFields(ctx context.Context, opts ion.ListOptions) (ion.Page[ion.RunStepField], error) {
	return list(ctx, s, runStepFields, opts)
}
