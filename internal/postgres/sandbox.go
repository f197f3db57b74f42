package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ionbox/ionbox/internal/sqlcol"
	"github.com/ionbox/ionbox/ion"
)

// Sandbox requests and sandboxes live in the control schema beside the
// environments they name.

var _ ion.SandboxStore = (*ControlStore)(nil)

const sandboxRequestCols = `id, organization_id, name, reason, integration, shape, members, service_accounts, features,
	ttl_days, status, requested_by, note, created_at, decided_at, rate_limit_policy, size`

func scanSandboxRequest(sc scanner) (r ion.SandboxRequest, err error) {
	err = sc.Scan(&r.ID, &r.OrganizationID, &r.Name, &r.Reason, &r.Integration, &r.Shape,
		sqlcol.JSONList[ion.Member]{Dst: &r.Members}, sqlcol.JSONList[ion.ServiceAccount]{Dst: &r.ServiceAccounts}, sqlcol.JSONList[string]{Dst: &r.Features},
		&r.TTLDays, &r.Status, &r.RequestedBy, &r.Note, sqlcol.Micros{Dst: &r.CreatedAt}, sqlcol.Micros{Dst: &r.DecidedAt}, &r.RateLimitPolicy, &r.Size)
	return r, err
}

func getSandboxRequest(ctx context.Context, q queryer, id ion.ID) (ion.SandboxRequest, error) {
	r, err := scanSandboxRequest(q.QueryRowContext(ctx, `SELECT `+sandboxRequestCols+` FROM sandbox_requests WHERE id = ?`, id))
	if isNoRows(err) {
		return r, ion.NotFound("sandbox request", id)
	}
	return r, err
}

// The request id and organization are NULL until known; they read as 0.
const sandboxCols = `name, coalesce(request_id, 0), source_organization_id, coalesce(organization_id, 0), shape, state,
	features, pinned, created_at, last_activity_at, expires_at`

func scanSandbox(sc scanner) (s ion.Sandbox, err error) {
	err = sc.Scan(&s.Name, &s.RequestID, &s.SourceOrganizationID, &s.OrganizationID, &s.Shape, &s.State,
		sqlcol.JSONList[string]{Dst: &s.Features}, &s.Pinned, sqlcol.Micros{Dst: &s.CreatedAt}, sqlcol.Micros{Dst: &s.LastActivityAt}, sqlcol.Micros{Dst: &s.ExpiresAt})
	return s, err
}

func getSandbox(ctx context.Context, q queryer, name string) (ion.Sandbox, error) {
	s, err := scanSandbox(q.QueryRowContext(ctx, `SELECT `+sandboxCols+` FROM sandboxes WHERE name = ?`, name))
	if isNoRows(err) {
		return s, sandboxNotFound(name)
	}
	return s, err
}

func sandboxNotFound(name string) error {
	return ion.Errorf(ion.ENOTFOUND, "sandbox %q not found.", name)
}

// queueSandboxExists queues a read of sandbox name into b (see
// tx.pipeline); once b is sent, the error it returns points at NOT_FOUND
// if there is no such sandbox, nil if there is.
func queueSandboxExists(b *pgx.Batch, name string) *error {
	var err error
	queue(b, `SELECT name FROM sandboxes WHERE name = ?`, name).QueryRow(func(row pgx.Row) error {
		var n string
		if err = row.Scan(&n); isNoRows(err) {
			err = sandboxNotFound(name)
		}
		return nil
	})
	return &err
}

func checkShape(shape string) error {
	switch shape {
	case ion.ShapeBlank, ion.ShapeSeeded, ion.ShapeSnapshot:
		return nil
	}
	return ion.Invalid("shape", "%q is not a sandbox shape; use %q, %q or %q.", shape, ion.ShapeBlank, ion.ShapeSeeded, ion.ShapeSnapshot)
}

func checkSandboxState(state string) error {
	switch state {
	case ion.SandboxProvisioning, ion.SandboxActive, ion.SandboxDormant, ion.SandboxResetting, ion.SandboxExpired:
		return nil
	}
	return ion.Invalid("state", "%q is not a sandbox state; use one of: %s, %s, %s, %s, %s.", state,
		ion.SandboxProvisioning, ion.SandboxActive, ion.SandboxDormant, ion.SandboxResetting, ion.SandboxExpired)
}

// queueNameFree queues into b (see tx.pipeline) the reads that tell
// whether an environment or a pending request other than exceptRequest
// already holds name, and returns, to call once b is sent, VALIDATION_ERROR
// naming "name" if one does. They run inside the write transaction, so
// that two callers cannot both take a name.
func queueNameFree(b *pgx.Batch, name string, exceptRequest ion.ID) func() error {
	var envErr, requestErr error
	var other ion.ID
	queue(b, `SELECT kind FROM environments WHERE name = ?`, name).
		QueryRow(func(r pgx.Row) error { var kind string; envErr = r.Scan(&kind); return nil })
	queue(b, `SELECT id FROM sandbox_requests WHERE name = ? AND status = ? AND id <> ?`, name, ion.RequestPending, exceptRequest).
		QueryRow(func(r pgx.Row) error { requestErr = r.Scan(&other); return nil })
	return func() error {
		switch {
		case envErr == nil:
			return ion.Invalid("name", "%q is already taken by another environment; pick another name.", name)
		case !isNoRows(envErr):
			return envErr
		case requestErr == nil:
			return ion.Invalid("name", "%q is already taken by pending sandbox request %d; pick another name.", name, other)
		case !isNoRows(requestErr):
			return requestErr
		}
		return nil
	}
}

// CreateSandboxRequest stores a new pending request; ID, Status, CreatedAt
// and DecidedAt are set here, RequestedBy defaults to "operator". Name must
// be a valid sandbox name held by no environment and no pending request
// (VALIDATION_ERROR naming name); the organization must exist
// (VALIDATION_ERROR naming organizationId).
func (c *ControlStore) CreateSandboxRequest(ctx context.Context, r ion.SandboxRequest) (ion.SandboxRequest, error) {
	if err := ion.ValidateSandboxName(r.Name); err != nil {
		return ion.SandboxRequest{}, err
	}
	if err := checkShape(r.Shape); err != nil {
		return ion.SandboxRequest{}, err
	}
	if r.TTLDays != nil && *r.TTLDays < 1 {
		return ion.SandboxRequest{}, ion.Invalid("ttlDays", "must be at least 1 (got %d).", *r.TTLDays)
	}
	if strings.TrimSpace(r.RequestedBy) == "" {
		r.RequestedBy = "operator"
	}
	var out ion.SandboxRequest
	err := c.db.update(ctx, "create sandbox request", func(tx *tx) error {
		b := &pgx.Batch{}
		var org ion.Organization
		var orgErr error
		organizations.queueGet(b, r.OrganizationID, &org, &orgErr)
		nameFree := queueNameFree(b, r.Name, 0)
		queue(b, `INSERT INTO sandbox_requests (organization_id, name, reason, integration, shape, members, service_accounts,
			features, ttl_days, status, requested_by, note, created_at, decided_at, rate_limit_policy, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)
			RETURNING `+sandboxRequestCols,
			r.OrganizationID, r.Name, r.Reason, r.Integration, r.Shape, sqlcol.EncodeList(r.Members), sqlcol.EncodeList(r.ServiceAccounts),
			sqlcol.EncodeList(r.Features), sqlcol.Nullable(r.TTLDays), ion.RequestPending, r.RequestedBy, r.Note, tx.nowMicros(), r.RateLimitPolicy, r.Size).
			QueryRow(func(row pgx.Row) (err error) { out, err = scanSandboxRequest(row); return err })
		err := tx.pipeline(b)
		if orgErr != nil {
			return asInvalidRef("organizationId", orgErr)
		}
		if err := nameFree(); err != nil {
			return err
		}
		return err
	})
	return out, err
}

// SandboxRequest returns request id. NOT_FOUND if there is none.
func (c *ControlStore) SandboxRequest(ctx context.Context, id ion.ID) (ion.SandboxRequest, error) {
	r, err := getSandboxRequest(ctx, c.db.reader(ctx), id)
	return r, wrapErr("sandbox request", err)
}

// SandboxRequests lists requests, newest first; orgID 0 lists all,
// otherwise those for that organization.
func (c *ControlStore) SandboxRequests(ctx context.Context, orgID ion.ID) ([]ion.SandboxRequest, error) {
	q := `SELECT ` + sandboxRequestCols + ` FROM sandbox_requests WHERE ?::bigint = 0 OR organization_id = ? ORDER BY id DESC`
	rows, err := c.db.reader(ctx).QueryContext(ctx, q, orgID, orgID)
	if err != nil {
		return nil, wrapErr("sandbox requests", err)
	}
	defer rows.Close()
	out := []ion.SandboxRequest{}
	for rows.Next() {
		r, err := scanSandboxRequest(rows)
		if err != nil {
			return nil, wrapErr("sandbox requests", err)
		}
		out = append(out, r)
	}
	return out, wrapErr("sandbox requests", rows.Err())
}

// DecideSandboxRequest moves a pending request to provisioned or rejected,
// recording note and the time. VALIDATION_ERROR naming status for another
// status; NOT_FOUND for an unknown request; CONFLICT if it is no longer
// pending.
func (c *ControlStore) DecideSandboxRequest(ctx context.Context, id ion.ID, status, note string) (ion.SandboxRequest, error) {
	if status != ion.RequestProvisioned && status != ion.RequestRejected {
		return ion.SandboxRequest{}, ion.Invalid("status", "%q is not a decision; use %q or %q.", status, ion.RequestProvisioned, ion.RequestRejected)
	}
	var out ion.SandboxRequest
	err := c.db.update(ctx, "decide sandbox request", func(tx *tx) error {
		b := &pgx.Batch{}
		var r ion.SandboxRequest
		var readErr error
		queue(b, `SELECT `+sandboxRequestCols+` FROM sandbox_requests WHERE id = ?`, id).
			QueryRow(func(row pgx.Row) error { r, readErr = scanSandboxRequest(row); return nil })
		queue(b, `UPDATE sandbox_requests SET status = ?, note = ?, decided_at = ? WHERE id = ? AND status = ? RETURNING `+sandboxRequestCols,
			status, note, tx.nowMicros(), id, ion.RequestPending).
			QueryRow(func(row pgx.Row) (err error) { out, err = scanSandboxRequest(row); return err })
		err := tx.pipeline(b)
		switch {
		case isNoRows(readErr):
			return ion.NotFound("sandbox request", id)
		case readErr != nil:
			return readErr
		case r.Status != ion.RequestPending:
			return ion.Errorf(ion.ECONFLICT, "Sandbox request %d is already %s; only a pending request can be approved or rejected.", id, r.Status)
		}
		return err
	})
	return out, err
}

// CreateSandbox creates the sandbox's environment (kind sandbox, in the
// sandbox's state) and its record in one transaction. State defaults to
// active; CreatedAt and LastActivityAt are now; OrganizationID is ignored
// (SetSandboxOrganization records it once made). The name must be free: no
// environment and no pending request other than s.RequestID may hold it
// (VALIDATION_ERROR naming name). The source organization and, when not 0,
// the request must exist (VALIDATION_ERROR naming sourceOrganizationId or
// requestId).
func (c *ControlStore) CreateSandbox(ctx context.Context, s ion.Sandbox) (ion.Sandbox, error) {
	if err := ion.ValidateSandboxName(s.Name); err != nil {
		return ion.Sandbox{}, err
	}
	if err := checkShape(s.Shape); err != nil {
		return ion.Sandbox{}, err
	}
	if s.State == "" {
		s.State = ion.SandboxActive
	}
	if err := checkSandboxState(s.State); err != nil {
		return ion.Sandbox{}, err
	}
	var out ion.Sandbox
	err := c.db.update(ctx, "create sandbox", func(tx *tx) error {
		b := &pgx.Batch{}
		var org ion.Organization
		var orgErr, requestErr error
		organizations.queueGet(b, s.SourceOrganizationID, &org, &orgErr)
		var requestID any
		if s.RequestID != 0 {
			requestID = s.RequestID
			queue(b, `SELECT id FROM sandbox_requests WHERE id = ?`, s.RequestID).
				QueryRow(func(row pgx.Row) error { var id ion.ID; requestErr = row.Scan(&id); return nil })
		}
		nameFree := queueNameFree(b, s.Name, s.RequestID)
		queue(b, `INSERT INTO environments (name, kind, state, created_at, webhook_mode) VALUES (?, ?, ?, ?, ?)`,
			s.Name, ion.EnvSandbox, s.State, tx.nowMicros(), ion.DefaultWebhookMode(ion.EnvSandbox))
		queue(b, `INSERT INTO sandboxes (name, request_id, source_organization_id, organization_id, shape, state, features,
			pinned, created_at, last_activity_at, expires_at) VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?) RETURNING `+sandboxCols,
			s.Name, requestID, s.SourceOrganizationID, s.Shape, s.State, sqlcol.EncodeList(s.Features),
			s.Pinned, tx.nowMicros(), tx.nowMicros(), sqlcol.NullMicros(s.ExpiresAt)).
			QueryRow(func(row pgx.Row) (err error) { out, err = scanSandbox(row); return err })
		err := tx.pipeline(b)
		switch {
		case orgErr != nil:
			return asInvalidRef("sourceOrganizationId", orgErr)
		case isNoRows(requestErr):
			return asInvalidRef("requestId", ion.NotFound("sandbox request", s.RequestID))
		case requestErr != nil:
			return requestErr
		}
		if err := nameFree(); err != nil {
			return err
		}
		return err
	})
	return out, err
}

// SetSandboxOrganization records the sandbox's own organization, which
// must belong to the sandbox's environment (VALIDATION_ERROR naming
// organizationId). NOT_FOUND for an unknown sandbox.
func (c *ControlStore) SetSandboxOrganization(ctx context.Context, name string, orgID ion.ID) error {
	return c.db.write(ctx, "set sandbox organization", func(b *pgx.Batch, _ time.Time) func() error {
		sandboxErr := queueSandboxExists(b, name)
		var org ion.Organization
		var orgErr error
		organizations.queueGet(b, orgID, &org, &orgErr)
		queue(b, `UPDATE sandboxes SET organization_id = ? WHERE name = ?`, orgID, name)
		return func() error {
			switch {
			case *sandboxErr != nil:
				return *sandboxErr
			case orgErr != nil:
				return asInvalidRef("organizationId", orgErr)
			case org.Environment != name:
				return ion.Invalid("organizationId", "organization %d belongs to environment %q, not to sandbox %q.", orgID, org.Environment, name)
			}
			return nil
		}
	})
}

// SetSandboxState changes the state of the sandbox and of its environment
// together. VALIDATION_ERROR naming state for an unknown state; NOT_FOUND
// for an unknown sandbox.
func (c *ControlStore) SetSandboxState(ctx context.Context, name, state string) error {
	if err := checkSandboxState(state); err != nil {
		return err
	}
	return c.db.update(ctx, "set sandbox state", func(tx *tx) error {
		b := &pgx.Batch{}
		sandboxErr := queueSandboxExists(b, name)
		queue(b, `UPDATE sandboxes SET state = ? WHERE name = ?`, state, name)
		queue(b, `UPDATE environments SET state = ? WHERE name = ?`, state, name)
		err := tx.pipeline(b)
		if *sandboxErr != nil {
			return *sandboxErr
		}
		return err
	})
}

// Sandbox returns one sandbox. NOT_FOUND if there is none by that name.
func (c *ControlStore) Sandbox(ctx context.Context, name string) (ion.Sandbox, error) {
	s, err := getSandbox(ctx, c.db.reader(ctx), name)
	return s, wrapErr("sandbox", err)
}

// Sandboxes lists sandboxes by name; orgID 0 lists all, otherwise those
// made for that production organization.
func (c *ControlStore) Sandboxes(ctx context.Context, orgID ion.ID) ([]ion.Sandbox, error) {
	q := `SELECT ` + sandboxCols + ` FROM sandboxes WHERE ?::bigint = 0 OR source_organization_id = ? ORDER BY name`
	rows, err := c.db.reader(ctx).QueryContext(ctx, q, orgID, orgID)
	if err != nil {
		return nil, wrapErr("sandboxes", err)
	}
	defer rows.Close()
	out := []ion.Sandbox{}
	for rows.Next() {
		s, err := scanSandbox(rows)
		if err != nil {
			return nil, wrapErr("sandboxes", err)
		}
		out = append(out, s)
	}
	return out, wrapErr("sandboxes", rows.Err())
}

// DeleteSandbox removes, in one transaction, the sandbox, the API keys,
// users and organizations of its environment, the environment's signing
// keys and the environment itself. Its requests stay as history. Tenant
// schemas are not touched: remove them with Stores.DeleteTenant. NOT_FOUND
// for an unknown sandbox.
func (c *ControlStore) DeleteSandbox(ctx context.Context, name string) error {
	return c.db.update(ctx, "delete sandbox", func(tx *tx) error {
		if _, err := getSandbox(ctx, tx, name); err != nil {
			return err
		}
		const orgs = `SELECT id FROM organizations WHERE environment = ?`
		for _, stmt := range []struct {
			sql  string
			args []any
		}{
			{`DELETE FROM sandboxes WHERE name = ?`, []any{name}},
			{`DELETE FROM api_keys WHERE environment = ? OR organization_id IN (` + orgs + `)`, []any{name, name}},
			{`DELETE FROM users WHERE organization_id IN (` + orgs + `)`, []any{name}},
			{`DELETE FROM organizations WHERE environment = ?`, []any{name}},
			{`DELETE FROM signing_keys WHERE environment = ?`, []any{name}},
			{`DELETE FROM environments WHERE name = ?`, []any{name}},
		} {
			if _, err := tx.exec(stmt.sql, stmt.args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// errTenantDeleted is what a call on a tenant that is being deleted gets.
func errTenantDeleted(id string) error {
	return ion.Errorf(ion.ENOTFOUND, "tenant %q not found.", id)
}
