package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/ionbox/ionbox/internal/seed"
	"github.com/ionbox/ionbox/ion"
)

// A seeded sandbox is loaded from a template of the seed data (see
// ion.TenantTemplates), built once per seed version and size and kept by
// the stores, so that provisioning one costs a copy of ready data with
// its times moved to now, not the thousands of writes that made it. The
// first seeded request of a size on a new deployment (or after a seed
// version change) builds the template while it waits; PrepareTemplates
// builds the small one ahead of time.

// seeding is the Service's state for seeded sandboxes.
type seeding struct {
	builds templateBuilds
}

// templateBuilds makes sure one template is built at a time per name in
// this process, so that concurrent seeded requests wait for one build.
type templateBuilds struct {
	mu       sync.Mutex
	building map[string]*templateBuild
}

type templateBuild struct {
	done chan struct{}
	err  error
}

// PrepareTemplates builds the seed templates of sizes that do not exist
// yet (the server prepares the small one at start, so that the first
// seeded request is as fast as any other).
func (s *Service) PrepareTemplates(ctx context.Context, sizes ...string) error {
	for _, size := range sizes {
		if _, err := s.seedTemplate(ctx, size, nil); err != nil {
			return err
		}
	}
	return nil
}

// SeedDataReady reports whether the seed template of size is built, so
// that a seeded request of that size costs a copy rather than a build
// (minutes for the large size).
func (s *Service) SeedDataReady(ctx context.Context, size string) (bool, error) {
	size, err := seed.ParseSize(size)
	if err != nil {
		return false, err
	}
	ok, err := s.cfg.Stores.TenantTemplateExists(ctx, seed.TemplateName(size))
	if err != nil {
		return false, fmt.Errorf("sandbox: seed data %s: %w", size, err)
	}
	return ok, nil
}

// seedTemplate returns the name of the template of size, building it
// first if needed, reporting the build's progress to report.
func (s *Service) seedTemplate(ctx context.Context, size string, report seed.Progress) (string, error) {
	name := seed.TemplateName(size)
	for {
		ok, err := s.cfg.Stores.TenantTemplateExists(ctx, name)
		if err != nil {
			return "", fmt.Errorf("seed template %s: %w", name, err)
		}
		if ok {
			return name, nil
		}
		s.builds.mu.Lock()
		if s.builds.building == nil {
			s.builds.building = map[string]*templateBuild{}
		}
		b := s.builds.building[name]
		if b == nil {
			b = &templateBuild{done: make(chan struct{})}
			s.builds.building[name] = b
			s.builds.mu.Unlock()
			b.err = s.buildTemplate(ctx, size, name, report)
			s.builds.mu.Lock()
			delete(s.builds.building, name)
			s.builds.mu.Unlock()
			close(b.done)
			if b.err != nil {
				return "", b.err
			}
			return name, nil
		}
		s.builds.mu.Unlock()
		select {
		case <-b.done:
			// A build that stopped because its own caller went away is
			// taken over by the next round; other failures are this
			// caller's too.
			stopped := errors.Is(b.err, context.Canceled) || errors.Is(b.err, context.DeadlineExceeded)
			if b.err != nil && !stopped {
				return "", b.err
			}
			// Built (the loop finds it), or to be built again.
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// buildTemplate writes the seed data of size into a scratch tenant, saves
// it as template name and removes the scratch tenant.
func (s *Service) buildTemplate(ctx context.Context, size, name string, report seed.Progress) (err error) {
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	scratch := "seed-build-" + name + "-" + hex.EncodeToString(rnd[:])
	if err := s.cfg.Stores.CreateTenant(ctx, scratch); err != nil {
		return fmt.Errorf("seed template %s: scratch tenant: %w", name, err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
		defer cancel()
		if derr := s.cfg.Stores.DeleteTenant(uctx, scratch); derr != nil && err == nil {
			err = fmt.Errorf("seed template %s: removing the scratch tenant: %w", name, derr)
		}
	}()
	ts, err := s.cfg.Stores.Tenant(ctx, scratch)
	if err != nil {
		return fmt.Errorf("seed template %s: %w", name, err)
	}
	if err := seed.Generate(ctx, ts, size, report); err != nil {
		return fmt.Errorf("seed template %s: %w", name, err)
	}
	if err := s.cfg.Stores.SaveTenantTemplate(ctx, scratch, name); err != nil {
		return fmt.Errorf("seed template %s: %w", name, err)
	}
	return nil
}

// loadSeedData makes the new sandbox's tenant the seed data of size, as
// of now, and saves it as the sandbox's baseline, reporting progress under
// the sandbox's name.
func (p *provisioning) loadSeedData(ctx context.Context, size string) error {
	name := p.req.Name
	p.setProgress(name, ion.SnapshotProgress{Phase: "building seed data"})
	tpl, err := p.seedTemplate(ctx, size, func(done, total int) {
		p.setProgress(name, ion.SnapshotProgress{Phase: "building seed data", Done: int64(done), Total: int64(total)})
	})
	if err != nil {
		return err
	}
	p.setProgress(name, ion.SnapshotProgress{Phase: "loading seed data"})
	// The loaded data is the sandbox's baseline, saved in the same step:
	// a store may keep it as the template and the time, not as a copy.
	if err := p.cfg.Stores.LoadTenantTemplateAsState(ctx, p.tenantID, tpl, p.cfg.Now(), baselineState); err != nil {
		return fmt.Errorf("loading seed data %s: %w", tpl, err)
	}
	return nil
}
