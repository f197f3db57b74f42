// Code generated from internal/sqlite/issues.go by `go test ./internal/postgres -run TestStoreCopies -update-copies`; DO NOT EDIT.

package postgres

import (
	"context"
	"github.com/ionbox/ionbox/internal/sqlcol"
	"slices"
	"strings"

	"github.com/ionbox/ionbox/ion"
)

var issues = newEntity(entity[ion.Issue]{
	kind:   "issue",
	plural: "issues",
	table:  "issues",
	columns: sqlcol.MetaCols + ", t.title, t.status, t.run_id, t.run_step_id, t.part_inventory_id, t.cause_condition, t.expected_condition," +
		" t.disposition, t.attributes",
	fields: map[string]column{
		"title":           {"t.title", kindText},
		"status":          {"t.status", kindEnum},
		"runId":           {"t.run_id", kindInt},
		"runStepId":       {"t.run_step_id", kindInt},
		"partInventoryId": {"t.part_inventory_id", kindInt},
		"disposition":     {"t.disposition", kindText},
	},
	scan: func(sc scanner) (i ion.Issue, err error) {
		err = sc.Scan(append(sqlcol.MetaDest(&i.Meta), &i.Title, &i.Status, &i.RunID, &i.RunStepID, &i.PartInventoryID, &i.CauseCondition,
			&i.ExpectedCondition, &i.Disposition, sqlcol.JSONList[ion.Attribute]{Dst: &i.Attributes})...)
		return i, err
	},
	meta: func(i ion.Issue) ion.Meta { return i.Meta },
})

var teams = newEntity(entity[ion.Team]{
	kind:    "team",
	plural:  "teams",
	table:   "teams",
	columns: sqlcol.MetaCols + ", t.name, t.user_ids",
	fields: map[string]column{
		"name": {"t.name", kindText},
	},
	scan: func(sc scanner) (tm ion.Team, err error) {
		err = sc.Scan(append(sqlcol.MetaDest(&tm.Meta), &tm.Name, sqlcol.JSONList[ion.ID]{Dst: &tm.UserIDs})...)
		return tm, err
	},
	meta: func(tm ion.Team) ion.Meta { return tm.Meta },
})

var issueStatuses = []string{ion.IssuePending, ion.IssueInProgress, ion.IssueInReview, ion.IssueResolved}

// CreateIssue creates an issue. Status defaults to PENDING; with only a
// RunStepID, RunID becomes that step's run.
func (s *TenantStore) CreateIssue(ctx context.Context, i ion.Issue) (ion.Issue, error) {
	return create(ctx, s, issues, func(tx *tx) (ion.ID, error) {
		if i.Status == "" {
			i.Status = ion.IssuePending
		}
		if err := checkIssue(tx, &i); err != nil {
			return 0, err
		}
		return tx.insert(`INSERT INTO issues (title, status, run_id, run_step_id, part_inventory_id, cause_condition, expected_condition,
			disposition, attributes, etag, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			i.Title, i.Status, sqlcol.Nullable(i.RunID), sqlcol.Nullable(i.RunStepID), sqlcol.Nullable(i.PartInventoryID), sqlcol.Nullable(i.CauseCondition),
			sqlcol.Nullable(i.ExpectedCondition), sqlcol.Nullable(i.Disposition), sqlcol.EncodeList(i.Attributes), ion.NewEtag(), tx.nowMicros(), tx.nowMicros())
	})
}

func checkIssue(tx *tx, i *ion.Issue) (err error) {
	if i.Status, err = ion.CheckEnum("status", i.Status, issueStatuses...); err != nil {
		return err
	}
	if err := optRef(tx, "runs", "run", "runId", i.RunID); err != nil {
		return err
	}
	if i.RunStepID != nil {
		st, err := runSteps.get(tx.ctx, tx, *i.RunStepID)
		if err != nil {
			return asInvalidRef("runStepId", err)
		}
		if i.RunID == nil {
			i.RunID = &st.RunID
		} else if *i.RunID != st.RunID {
			return ion.Invalid("runStepId", "run step %d belongs to run %d, not run %d.", st.ID, st.RunID, *i.RunID)
		}
	}
	if err := optRef(tx, "part_inventories", "part inventory", "partInventoryId", i.PartInventoryID); err != nil {
		return err
	}
	return ion.CheckAttributes(i.Attributes)
}

// UpdateIssue changes the fields the patch sets.
func (s *TenantStore) UpdateIssue(ctx context.Context, p ion.IssuePatch) (ion.Issue, error) {
	return change(ctx, s, issues, "update", p.ID, p.Etag, func(tx *tx, i ion.Issue) error {
		set := func(dst **string, v *string) {
			if v != nil {
				*dst = v
			}
		}
		if p.Title != nil {
			i.Title = *p.Title
		}
		if p.Status != nil {
			i.Status = *p.Status
		}
		if p.RunID != nil {
			i.RunID = p.RunID
		}
		if p.RunStepID != nil {
			i.RunStepID = p.RunStepID
		}
		if p.PartInventoryID != nil {
			i.PartInventoryID = p.PartInventoryID
		}
		set(&i.CauseCondition, p.CauseCondition)
		set(&i.ExpectedCondition, p.ExpectedCondition)
		set(&i.Disposition, p.Disposition)
		if p.Attributes != nil {
			i.Attributes = *p.Attributes
		}
		if err := checkIssue(tx, &i); err != nil {
			return err
		}
		_, err := tx.exec(`UPDATE issues SET title = ?, status = ?, run_id = ?, run_step_id = ?, part_inventory_id = ?, cause_condition = ?,
			expected_condition = ?, disposition = ?, attributes = ?, etag = ?, updated_at = ? WHERE id = ?`,
			i.Title, i.Status, sqlcol.Nullable(i.RunID), sqlcol.Nullable(i.RunStepID), sqlcol.Nullable(i.PartInventoryID), sqlcol.Nullable(i.CauseCondition),
			sqlcol.Nullable(i.ExpectedCondition), sqlcol.Nullable(i.Disposition), sqlcol.EncodeList(i.Attributes), ion.NewEtag(), tx.nowMicros(), i.ID)
		return err
	})
}

// DeleteIssue deletes an issue.
func (s *TenantStore) DeleteIssue(ctx context.Context, id ion.ID, etag string) error {
	return remove(ctx, s, issues, id, etag, nil)
}

// Issue returns issue id.
func (s *TenantStore) Issue(ctx context.Context, id ion.ID) (ion.Issue, error) {
	return get(ctx, s, issues, id)
}

// Issues lists issues.
func (s *TenantStore) Issues(ctx context.Context, opts ion.ListOptions) (ion.Page[ion.Issue], error) {
	return list(ctx, s, issues, opts)
}

// CreateTeam creates a team. UserIDs name users of the organization in the
// control store, which a tenant store cannot see; they are kept as given,
// without duplicates.
func (s *TenantStore) CreateTeam(ctx context.Context, tm ion.Team) (ion.Team, error) {
	return create(ctx, s, teams, func(tx *tx) (ion.ID, error) {
		if tm.Name = strings.TrimSpace(tm.Name); tm.Name == "" {
			return 0, ion.Invalid("name", "is required.")
		}
		return tx.insert(`INSERT INTO teams (name, user_ids, etag, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			tm.Name, sqlcol.EncodeList(distinct(tm.UserIDs)), ion.NewEtag(), tx.nowMicros(), tx.nowMicros())
	})
}

func distinct(ids []ion.ID) []ion.ID {
	var out []ion.ID
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// UpdateTeam renames a team or replaces its members.
func (s *TenantStore) UpdateTeam(ctx context.Context, p ion.TeamPatch) (ion.Team, error) {
	return change(ctx, s, teams, "update", p.ID, p.Etag, func(tx *tx, tm ion.Team) error {
		if p.Name != nil {
			if tm.Name = strings.TrimSpace(*p.Name); tm.Name == "" {
				return ion.Invalid("name", "must not be empty.")
			}
		}
		if p.UserIDs != nil {
			tm.UserIDs = *p.UserIDs
		}
		_, err := tx.exec(`UPDATE teams SET name = ?, user_ids = ?, etag = ?, updated_at = ? WHERE id = ?`,
			tm.Name, sqlcol.EncodeList(distinct(tm.UserIDs)), ion.NewEtag(), tx.nowMicros(), tm.ID)
		return err
	})
}

// DeleteTeam deletes a team.
func (s *TenantStore) DeleteTeam(ctx context.Context, id ion.ID, etag string) error {
	return remove(ctx, s, teams, id, etag, nil)
}

// Team returns team id.
func (s *TenantStore) Team(ctx context.Context, id ion.ID) (ion.Team, error) {
	return get(ctx, s, teams, id)
}

// Teams lists teams.
func (s *TenantStore) Teams(ctx context.Context, opts ion.ListOptions) (ion.Page[ion.Team], error) {
	return list(ctx, s, teams, opts)
}
