package sandbox

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// Actors the lifecycle log names besides users.
const (
	actorOperator = "operator"
	actorSweeper  = "sweeper"
)

// baselineState is the saved tenant state of a sandbox's baseline: its data
// as provisioned. A checkpoint NAME is saved as checkpointPrefix+NAME, so
// that no checkpoint name can overwrite the baseline. A blank sandbox's
// baseline is ion.EmptyTenantState, which needs no save (see baselineOf).
const (
	baselineState    = "baseline"
	checkpointPrefix = "cp-"
)

// checkpointName is a DNS-label-like name short enough to fit a saved
// state's name with its prefix.
var checkpointName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,58}[a-z0-9])?$`)

func checkCheckpointName(name string) error {
	if !checkpointName.MatchString(name) {
		return ion.Invalid("name", "%q is not a valid checkpoint name: use 1-60 lowercase letters, digits and hyphens, starting and ending with a letter or digit (e.g. \"before-import\").", name)
	}
	return nil
}

// ResetResult is what a reset did.
type ResetResult struct {
	Sandbox  ion.Sandbox
	ResetTo  string // "baseline" or the checkpoint's name
	Duration time.Duration
}

// Reset returns a sandbox's data to its baseline (checkpoint "") or to
// checkpoint; its base URL, credentials, members and webhook configuration
// stay. While it runs the sandbox is in state resetting, which the HTTP
// layer answers with 503 and Retry-After; store calls already running
// finish first and see the old data, later ones see the new data. A reset
// renews the sandbox (see Extend). NOT_FOUND for an unknown sandbox or
// checkpoint; CONFLICT while the sandbox is provisioning or being reset,
// or once it has expired.
func (s *Service) Reset(ctx context.Context, name, checkpoint string) (ResetResult, error) {
	return s.ResetAs(ctx, name, checkpoint, actorOperator)
}

// ResetAs is Reset on behalf of actor (a user's email), whom the lifecycle
// log names.
func (s *Service) ResetAs(ctx context.Context, name, checkpoint, actor string) (ResetResult, error) {
	start := time.Now()
	checkpoint = strings.TrimSpace(checkpoint)
	sb, err := s.usableSandbox(ctx, name, "reset")
	if err != nil {
		return ResetResult{}, err
	}
	state, resetTo := baselineOf(sb), baselineState
	if checkpoint != "" {
		if err := s.findCheckpoint(ctx, name, checkpoint); err != nil {
			return ResetResult{}, err
		}
		state, resetTo = checkpointPrefix+checkpoint, checkpoint
	}
	// A reset renews the sandbox, and the activity time it stamps now is
	// how Sweep tells a reset that a crash interrupted (see
	// staleResetAfter); touching also wakes a dormant sandbox.
	if err := s.cfg.Control.TouchSandbox(ctx, name, s.cfg.Now()); err != nil {
		return ResetResult{}, fmt.Errorf("sandbox: reset %q: %w", name, err)
	}
	ok, err := s.cfg.Control.TransitionSandbox(ctx, name, ion.SandboxActive, ion.SandboxResetting, nil)
	if err != nil {
		return ResetResult{}, fmt.Errorf("sandbox: reset %q: %w", name, err)
	}
	if !ok {
		return ResetResult{}, ion.Errorf(ion.ECONFLICT, "Sandbox %q changed state meanwhile (another reset, or the sweeper); try again.", name)
	}
	restoreErr := s.cfg.Stores.RestoreTenantState(ctx, ion.TenantIDFor(name, sb.OrganizationID), state)
	// Whatever happened, the sandbox must serve again.
	bg := context.WithoutCancel(ctx)
	if _, err := s.cfg.Control.TransitionSandbox(bg, name, ion.SandboxResetting, ion.SandboxActive, nil); err != nil {
		restoreErr = errors.Join(restoreErr, err)
	}
	if restoreErr != nil {
		if ion.ErrorCode(restoreErr) == ion.ENOTFOUND && state == baselineState {
			return ResetResult{}, ion.Errorf(ion.ECONFLICT, "Sandbox %q has no saved baseline (it was made before resets existed); it cannot be reset.", name)
		}
		return ResetResult{}, fmt.Errorf("sandbox: reset %q: %w", name, restoreErr)
	}
	s.record(bg, name, ion.EventReset, actor, "to "+resetTo)
	s.announce(bg, sb, ion.EventSandboxReset, map[string]any{"resetTo": resetTo})
	sb, err = s.cfg.Control.Sandbox(bg, name)
	if err != nil {
		return ResetResult{}, fmt.Errorf("sandbox: reset %q: %w", name, err)
	}
	return ResetResult{Sandbox: sb, ResetTo: resetTo, Duration: time.Since(start)}, nil
}

// baselineOf is the tenant state that sb's baseline is restored from. A
// blank sandbox's is ion.EmptyTenantState: its data as provisioned is an
// empty tenant, which every store restores without a save. (Blank
// sandboxes provisioned by earlier versions also saved an empty
// baselineState, so restoring either gives the same data.)
func baselineOf(sb ion.Sandbox) string {
	if sb.Shape == ion.ShapeBlank {
		return ion.EmptyTenantState
	}
	return baselineState
}

// CreateCheckpoint saves the sandbox's data as it is now under name, for
// Reset. VALIDATION_ERROR naming name for an invalid name; CONFLICT if the
// sandbox has a checkpoint of that name, or is not active or dormant;
// NOT_FOUND for an unknown sandbox.
func (s *Service) CreateCheckpoint(ctx context.Context, sandbox, name string) (ion.Checkpoint, error) {
	name = strings.TrimSpace(name)
	if err := checkCheckpointName(name); err != nil {
		return ion.Checkpoint{}, err
	}
	sb, err := s.usableSandbox(ctx, sandbox, "checkpoint")
	if err != nil {
		return ion.Checkpoint{}, err
	}
	cp, err := s.cfg.Control.CreateCheckpoint(ctx, sandbox, name)
	if err != nil {
		return ion.Checkpoint{}, fmt.Errorf("sandbox: checkpoint %q of %q: %w", name, sandbox, err)
	}
	if err := s.cfg.Stores.SaveTenantState(ctx, ion.TenantIDFor(sandbox, sb.OrganizationID), checkpointPrefix+name); err != nil {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
		defer cancel()
		if derr := s.cfg.Control.DeleteCheckpoint(uctx, sandbox, name); derr != nil {
			err = fmt.Errorf("%w (removing its record also failed: %v)", err, derr)
		}
		return ion.Checkpoint{}, fmt.Errorf("sandbox: checkpoint %q of %q: %w", name, sandbox, err)
	}
	s.record(ctx, sandbox, ion.EventCheckpoint, actorOperator, name)
	return cp, nil
}

// Checkpoints lists a sandbox's checkpoints, oldest first. NOT_FOUND for
// an unknown sandbox.
func (s *Service) Checkpoints(ctx context.Context, sandbox string) ([]ion.Checkpoint, error) {
	if _, err := s.cfg.Control.Sandbox(ctx, sandbox); err != nil {
		return nil, fmt.Errorf("sandbox: checkpoints of %q: %w", sandbox, err)
	}
	return s.cfg.Control.Checkpoints(ctx, sandbox)
}

// DeleteCheckpoint removes a checkpoint and its saved data. NOT_FOUND for
// an unknown sandbox or checkpoint.
func (s *Service) DeleteCheckpoint(ctx context.Context, sandbox, name string) error {
	sb, err := s.cfg.Control.Sandbox(ctx, sandbox)
	if err != nil {
		return fmt.Errorf("sandbox: delete checkpoint %q of %q: %w", name, sandbox, err)
	}
	if err := s.cfg.Control.DeleteCheckpoint(ctx, sandbox, name); err != nil {
		return fmt.Errorf("sandbox: delete checkpoint %q of %q: %w", name, sandbox, err)
	}
	if sb.OrganizationID != 0 && sb.State != ion.SandboxExpired {
		err := s.cfg.Stores.DeleteTenantState(ctx, ion.TenantIDFor(sandbox, sb.OrganizationID), checkpointPrefix+name)
		if err != nil && ion.ErrorCode(err) != ion.ENOTFOUND {
			return fmt.Errorf("sandbox: delete checkpoint %q of %q: %w", name, sandbox, err)
		}
	}
	s.record(ctx, sandbox, ion.EventCheckpointDeleted, actorOperator, name)
	return nil
}

// Extension is what Extend changes: Days pushes a hard end (ttlDays) that
// many days past the later of now and the current end; Pinned keeps the
// sandbox from expiring (true) or lets it expire again (false).
type Extension struct {
	Days   *int
	Pinned *bool
}

// Extend renews a sandbox, as an authenticated request does (a dormant
// sandbox becomes active and its dormancy clock starts again), and applies
// e. VALIDATION_ERROR naming days if e is empty or Days is outside 1 to
// 3650; CONFLICT once the sandbox has expired; NOT_FOUND for an unknown
// sandbox.
func (s *Service) Extend(ctx context.Context, name string, e Extension) (ion.Sandbox, error) {
	if e.Days == nil && e.Pinned == nil {
		return ion.Sandbox{}, ion.Invalid("days", "give days to extend by, or pinned.")
	}
	if e.Days != nil && (*e.Days < 1 || *e.Days > maxTTLDays) {
		return ion.Sandbox{}, ion.Invalid("days", "must be between 1 and %d (got %d).", maxTTLDays, *e.Days)
	}
	sb, err := s.cfg.Control.Sandbox(ctx, name)
	if err != nil {
		return ion.Sandbox{}, fmt.Errorf("sandbox: extend %q: %w", name, err)
	}
	now := s.cfg.Now().UTC()
	var expiresAt *time.Time
	var detail []string
	if e.Days != nil {
		from := now
		if sb.ExpiresAt != nil && sb.ExpiresAt.After(now) {
			from = *sb.ExpiresAt
		}
		t := from.AddDate(0, 0, *e.Days).Truncate(time.Microsecond)
		expiresAt = &t
		detail = append(detail, fmt.Sprintf("by %d days", *e.Days))
	}
	if e.Pinned != nil {
		detail = append(detail, fmt.Sprintf("pinned=%t", *e.Pinned))
	}
	out, err := s.cfg.Control.ExtendSandbox(ctx, name, now, expiresAt, e.Pinned)
	if err != nil {
		return ion.Sandbox{}, fmt.Errorf("sandbox: extend %q: %w", name, err)
	}
	s.record(ctx, name, ion.EventExtended, actorOperator, strings.Join(detail, ", "))
	return out, nil
}

// Events returns a sandbox's lifecycle log, oldest first: the log of every
// sandbox that had the name, so that it can be read after a delete.
func (s *Service) Events(ctx context.Context, name string) ([]ion.SandboxEvent, error) {
	return s.cfg.Control.SandboxEvents(ctx, name)
}

// SweepReport counts what a sweep did: sandboxes made dormant, expired,
// and brought back from a reset that a crash interrupted.
type SweepReport struct {
	Dormant, Expired, Recovered int
	// Interrupted counts sandboxes removed because their provisioning
	// was interrupted (see RemoveInterrupted).
	Interrupted int
}

// staleResetAfter is how long a sandbox may stay in state resetting before
// Sweep takes it for a reset that a crash interrupted and makes it active
// again. A reset renames a ready copy into place, which takes milliseconds,
// and the rename is atomic, so the data is then wholly the old or the new.
const staleResetAfter = 10 * time.Minute

// Sweep applies dormancy and expiry as of now, and ends resets that a
// crash interrupted (see staleResetAfter): an active sandbox without
// activity for Config.DormantAfterDays becomes dormant; a dormant one
// Config.ExpireAfterDormantDays later, or any one past its ExpiresAt,
// expires: its data is deleted, its API keys are disabled and its users
// deactivated, and its URLs answer 410. A pinned sandbox may become
// dormant but never expires. Every transition is a conditional update, so
// that several processes sweeping at once make each transition once, and
// activity that arrives meanwhile wins. It goes on past a sandbox that
// fails and returns the errors together.
func (s *Service) Sweep(ctx context.Context, now time.Time) (SweepReport, error) {
	var rep SweepReport
	all, err := s.cfg.Control.Sandboxes(ctx, 0)
	if err != nil {
		return rep, fmt.Errorf("sandbox: sweep: %w", err)
	}
	dormantAfter := time.Duration(s.cfg.DormantAfterDays) * 24 * time.Hour
	expireAfter := dormantAfter + time.Duration(s.cfg.ExpireAfterDormantDays)*24*time.Hour
	var errs []error
	if n, err := s.RemoveInterrupted(ctx, now.Add(-staleProvisioningAfter)); err != nil {
		errs = append(errs, err)
	} else {
		rep.Interrupted = n
	}
	for _, sb := range all {
		if err := ctx.Err(); err != nil {
			return rep, errors.Join(append(errs, err)...)
		}
		if sb.State == ion.SandboxResetting && now.Sub(sb.LastActivityAt) >= staleResetAfter {
			ok, err := s.cfg.Control.TransitionSandbox(ctx, sb.Name, ion.SandboxResetting, ion.SandboxActive, &sb.LastActivityAt)
			if err != nil {
				errs = append(errs, fmt.Errorf("sandbox: sweep: ending the interrupted reset of %q: %w", sb.Name, err))
			} else if ok {
				rep.Recovered++
				s.record(ctx, sb.Name, ion.EventReset, actorSweeper, "interrupted reset ended; the data is as before it or as after it")
			}
			continue
		}
		if sb.State != ion.SandboxActive && sb.State != ion.SandboxDormant {
			continue // provisioning, resetting: busy; expired: done
		}
		idle := now.Sub(sb.LastActivityAt)
		pastEnd := sb.ExpiresAt != nil && !now.Before(*sb.ExpiresAt)
		switch {
		case !sb.Pinned && (pastEnd || (sb.State == ion.SandboxDormant && idle >= expireAfter)):
			why := fmt.Sprintf("no activity since %s", sb.LastActivityAt.Format(time.RFC3339))
			if pastEnd {
				why = "reached its end " + sb.ExpiresAt.Format(time.RFC3339)
			}
			done, err := s.expire(ctx, sb, why)
			if err != nil {
				errs = append(errs, err)
			}
			if done {
				rep.Expired++
			}
		case sb.State == ion.SandboxActive && idle >= dormantAfter:
			ok, err := s.cfg.Control.TransitionSandbox(ctx, sb.Name, ion.SandboxActive, ion.SandboxDormant, &sb.LastActivityAt)
			if err != nil {
				errs = append(errs, fmt.Errorf("sandbox: sweep: dormancy of %q: %w", sb.Name, err))
				continue
			}
			if ok {
				rep.Dormant++
				s.record(ctx, sb.Name, ion.EventDormant, actorSweeper,
					fmt.Sprintf("no activity since %s", sb.LastActivityAt.Format(time.RFC3339)))
				s.announce(ctx, sb, ion.EventSandboxDormant, map[string]any{"state": ion.SandboxDormant, "lastActivityAt": sb.LastActivityAt.UTC()})
			}
		}
	}
	return rep, errors.Join(errs...)
}

// expire moves sb to expired (if nobody else did and it saw no activity
// since it was read) and then deletes its data and revokes its
// credentials. It reports whether this call made the transition.
func (s *Service) expire(ctx context.Context, sb ion.Sandbox, why string) (bool, error) {
	ok, err := s.cfg.Control.TransitionSandbox(ctx, sb.Name, sb.State, ion.SandboxExpired, &sb.LastActivityAt)
	if err != nil || !ok {
		if err != nil {
			err = fmt.Errorf("sandbox: sweep: expiry of %q: %w", sb.Name, err)
		}
		return false, err
	}
	return true, s.finishExpiry(ctx, sb, why)
}

// FinishExpiries completes the expiries a crash interrupted: a sandbox is
// marked expired first (from then on it answers 410 and its keys are
// refused) and its data and credentials removed after; the lifecycle log's
// "expired" entry is written last, so an expired sandbox without one was
// not finished. Every step is idempotent, so two replicas finishing the
// same one do no harm. The server calls it on start. It reports how many
// it finished.
func (s *Service) FinishExpiries(ctx context.Context) (int, error) {
	all, err := s.cfg.Control.Sandboxes(ctx, 0)
	if err != nil {
		return 0, fmt.Errorf("sandbox: finish interrupted expiries: %w", err)
	}
	n := 0
	var errs []error
	for _, sb := range all {
		if sb.State != ion.SandboxExpired {
			continue
		}
		events, err := s.cfg.Control.SandboxEvents(ctx, sb.Name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if slices.ContainsFunc(events, func(e ion.SandboxEvent) bool { return e.Kind == ion.EventExpired }) {
			continue
		}
		if err := s.finishExpiry(ctx, sb, "expiry finished after an interruption"); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// finishExpiry deletes an expired sandbox's data and checkpoints and
// revokes its credentials, then logs the expiry.
func (s *Service) finishExpiry(ctx context.Context, sb ion.Sandbox, why string) error {
	// From here on it answers 410 and its keys cannot be used; the rest
	// must finish even if the sweep is cancelled.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	s.forgetIssuer(sb.Name)
	var errs []error
	orgs, err := s.cfg.Control.Organizations(ctx, sb.Name)
	if err != nil {
		errs = append(errs, err)
	}
	for _, o := range orgs {
		errs = append(errs, s.revoke(ctx, o.ID))
		if err := s.cfg.Stores.DeleteTenant(ctx, o.TenantID()); err != nil && ion.ErrorCode(err) != ion.ENOTFOUND {
			errs = append(errs, err)
		}
	}
	cps, err := s.cfg.Control.Checkpoints(ctx, sb.Name)
	errs = append(errs, err)
	for _, cp := range cps {
		if err := s.cfg.Control.DeleteCheckpoint(ctx, sb.Name, cp.Name); err != nil && ion.ErrorCode(err) != ion.ENOTFOUND {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		// Not logged as expired: FinishExpiries tries again.
		return fmt.Errorf("sandbox: sweep: expiring %q: %w", sb.Name, err)
	}
	s.record(ctx, sb.Name, ion.EventExpired, actorSweeper, why)
	return nil
}

// revoke disables every API key and deactivates every user of
// organization orgID.
func (s *Service) revoke(ctx context.Context, orgID ion.ID) error {
	const page = 500
	for off := 0; ; off += page {
		keys, err := s.cfg.Control.APIKeys(ctx, orgID, ion.ListOptions{Offset: off, Limit: page})
		if err != nil {
			return err
		}
		for _, k := range keys.Items {
			if !k.Enabled {
				continue
			}
			disabled := false
			if _, err := s.cfg.Control.UpdateAPIKey(ctx, k.ClientID, k.Etag, &disabled, nil, ""); err != nil {
				return err
			}
		}
		if off+page >= keys.TotalCount {
			break
		}
	}
	for off := 0; ; off += page {
		users, err := s.cfg.Control.Users(ctx, orgID, ion.ListOptions{Offset: off, Limit: page})
		if err != nil {
			return err
		}
		for _, u := range users.Items {
			if u.Active {
				if _, err := s.cfg.Control.SetUserActive(ctx, orgID, u.ID, false); err != nil {
					return err
				}
			}
		}
		if off+page >= users.TotalCount {
			return nil
		}
	}
}

// usableSandbox returns sandbox name if it can be reset or checkpointed
// now: it is active or dormant. NOT_FOUND or CONFLICT otherwise.
func (s *Service) usableSandbox(ctx context.Context, name, what string) (ion.Sandbox, error) {
	sb, err := s.cfg.Control.Sandbox(ctx, name)
	if err != nil {
		return ion.Sandbox{}, fmt.Errorf("sandbox: %s %q: %w", what, name, err)
	}
	switch {
	case sb.State == ion.SandboxProvisioning || sb.OrganizationID == 0:
		return ion.Sandbox{}, ion.Errorf(ion.ECONFLICT, "Sandbox %q is still being provisioned; wait until it is active.", name)
	case sb.State == ion.SandboxResetting:
		return ion.Sandbox{}, ion.Errorf(ion.ECONFLICT, "Sandbox %q is being reset right now; wait for that to finish.", name)
	case sb.State == ion.SandboxExpired:
		return ion.Sandbox{}, ion.Errorf(ion.ECONFLICT, "Sandbox %q has expired and its data was deleted; request a new sandbox.", name)
	}
	return sb, nil
}

// findCheckpoint answers NOT_FOUND unless sandbox has checkpoint name.
func (s *Service) findCheckpoint(ctx context.Context, sandbox, name string) error {
	cps, err := s.cfg.Control.Checkpoints(ctx, sandbox)
	if err != nil {
		return fmt.Errorf("sandbox: checkpoints of %q: %w", sandbox, err)
	}
	if !slices.ContainsFunc(cps, func(c ion.Checkpoint) bool { return c.Name == name }) {
		return ion.Errorf(ion.ENOTFOUND, "Sandbox %q has no checkpoint %q; list them with GET /admin/v1/sandboxes/%s/checkpoints.", sandbox, name, sandbox)
	}
	return nil
}

// record appends to the lifecycle log. The action it records has already
// happened, so a failure to log it does not undo or fail the action; it
// goes to Config.OnLogError. Inside a control transaction (Atomically),
// the event is part of the transaction and may go with its next statement
// (ion.Deferrable: its id is not needed); failing there, it fails the
// transaction.
func (s *Service) record(ctx context.Context, sandbox, kind, actor, detail string) {
	_, err := s.cfg.Control.AddSandboxEvent(ion.Deferrable(context.WithoutCancel(ctx)), ion.SandboxEvent{
		Sandbox: sandbox, Kind: kind, Actor: actor, Detail: detail, At: s.cfg.Now().UTC(),
	})
	if err != nil && s.cfg.OnLogError != nil {
		s.cfg.OnLogError(fmt.Errorf("sandbox: recording %s of %q: %w", kind, sandbox, err))
	}
}
