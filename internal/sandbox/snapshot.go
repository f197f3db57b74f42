package sandbox

import (
	"context"
	"fmt"
	"time"

	"github.com/ionbox/ionbox/internal/scrub"
	"github.com/ionbox/ionbox/ion"
)

// fillSnapshot makes the new sandbox organization's data a scrubbed copy of
// its production organization's (see ion.SnapshotStores): under a new
// random key, with the configured policy. The sandbox is in state
// provisioning meanwhile, so nobody reaches it before the copy is
// complete and verified; Progress reports how far it has got.
func (p *provisioning) fillSnapshot(ctx context.Context, src ion.Organization) error {
	name := p.req.Name
	p.setProgress(name, ion.SnapshotProgress{Phase: ion.SnapshotCopying})
	defer p.clearProgress(name)
	start := time.Now()
	stats, err := p.cfg.Stores.SnapshotTenant(ctx, src.TenantID(), p.tenantID, scrub.NewPlan(p.cfg.ScrubPolicy),
		func(pr ion.SnapshotProgress) { p.setProgress(name, pr) })
	if err != nil {
		return fmt.Errorf("copying and scrubbing organization %d: %w", src.ID, err)
	}
	p.snapshotDetail = fmt.Sprintf("snapshot of organization %d: %d rows, %d values scrubbed (policy version %d), verified; %d ms",
		src.ID, stats.Rows, stats.Scrubbed, p.cfg.ScrubPolicy.Version, time.Since(start).Milliseconds())
	return nil
}

// Progress returns how far the snapshot of the sandbox name being
// provisioned by this process has got; false if none is.
func (s *Service) Progress(name string) (ion.SnapshotProgress, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pr, ok := s.progress[name]
	return pr, ok
}

func (s *Service) setProgress(name string, pr ion.SnapshotProgress) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.progress[name] = pr
}

func (s *Service) clearProgress(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.progress, name)
}

// staleProvisioningAfter is how long a sandbox may stay in state
// provisioning before Sweep takes it for one a crash interrupted and
// removes it. A million-row snapshot takes seconds; the margin covers
// replicas that are still provisioning one (only the process that runs a
// provisioning knows it is alive).
const staleProvisioningAfter = time.Hour

// RemoveInterrupted removes the sandboxes left in state provisioning by a
// process that died while making them, if they were created before
// `before` and this process is not provisioning them: their records,
// organizations, users, keys and tenant data (a half-copied snapshot
// included). Their requests were never marked provisioned, so they stay
// pending and can be approved again. A server on SQLite, the only process
// on its data, calls it on start with the current time; Sweep calls it with
// staleProvisioningAfter for replicas sharing PostgreSQL.
func (s *Service) RemoveInterrupted(ctx context.Context, before time.Time) (int, error) {
	all, err := s.cfg.Control.Sandboxes(ctx, 0)
	if err != nil {
		return 0, fmt.Errorf("sandbox: remove interrupted provisioning: %w", err)
	}
	removed := 0
	var errs []error
	for _, sb := range all {
		if sb.State != ion.SandboxProvisioning || !sb.CreatedAt.Before(before) {
			continue
		}
		s.mu.Lock()
		busy := s.provisioning[sb.RequestID]
		s.mu.Unlock()
		if busy {
			continue
		}
		if err := s.deleteSandbox(ctx, sb.Name, actorSweeper, "its provisioning was interrupted; request "+fmt.Sprint(sb.RequestID)+" stays pending"); err != nil {
			if ion.ErrorCode(err) != ion.ENOTFOUND {
				errs = append(errs, err)
			}
			continue
		}
		removed++
	}
	if len(errs) > 0 {
		return removed, fmt.Errorf("sandbox: remove interrupted provisioning: %w", errs[0])
	}
	return removed, nil
}
