package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// testSandboxLifecycle covers what the lifecycle keeps in the control
// store: conditional transitions, activity, extension, checkpoints and the
// lifecycle log.
func testSandboxLifecycle(t *testing.T, h *harness) {
	// newSandbox makes an active sandbox called name.
	newSandbox := func(t *testing.T, b *bundle, name string) ion.Sandbox {
		t.Helper()
		return must(b.control.CreateSandbox(b.ctx, ion.Sandbox{Name: name, SourceOrganizationID: b.org.ID, Shape: ion.ShapeBlank}))(t)
	}
	state := func(t *testing.T, b *bundle, name string) (string, string) {
		t.Helper()
		return must(b.control.Sandbox(b.ctx, name))(t).State, must(b.control.Environment(b.ctx, name))(t).State
	}

	t.Run("TransitionsAreConditional", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		sb := newSandbox(t, b, "cond")
		if ok := must(b.control.TransitionSandbox(b.ctx, sb.Name, ion.SandboxDormant, ion.SandboxExpired, nil))(t); ok {
			t.Fatal("a transition from a state the sandbox is not in was made")
		}
		stale := sb.LastActivityAt.Add(-time.Second)
		if ok := must(b.control.TransitionSandbox(b.ctx, sb.Name, ion.SandboxActive, ion.SandboxDormant, &stale))(t); ok {
			t.Fatal("a transition conditional on an older activity time was made")
		}
		if ok := must(b.control.TransitionSandbox(b.ctx, sb.Name, ion.SandboxActive, ion.SandboxDormant, &sb.LastActivityAt))(t); !ok {
			t.Fatal("the transition was not made")
		}
		if s, e := state(t, b, sb.Name); s != ion.SandboxDormant || e != ion.SandboxDormant {
			t.Fatalf("states = %s, %s; want dormant for sandbox and environment", s, e)
		}
		_, err := b.control.TransitionSandbox(b.ctx, "nope", ion.SandboxActive, ion.SandboxDormant, nil)
		wantErr(t, err, ion.ENOTFOUND, "")
		_, err = b.control.TransitionSandbox(b.ctx, sb.Name, ion.SandboxActive, "sleeping", nil)
		wantErr(t, err, ion.EVALIDATION, "state")

		// Of many racing callers, exactly one makes the transition.
		var wg sync.WaitGroup
		var made atomic.Int32
		for range 8 {
			wg.Go(func() {
				ok, err := b.control.TransitionSandbox(b.ctx, sb.Name, ion.SandboxDormant, ion.SandboxExpired, nil)
				if err != nil {
					t.Error(err)
				}
				if ok {
					made.Add(1)
				}
			})
		}
		wg.Wait()
		if made.Load() != 1 {
			t.Fatalf("%d callers made the transition, want 1", made.Load())
		}
	})

	t.Run("TouchAndExtend", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		sb := newSandbox(t, b, "touched")
		later := sb.LastActivityAt.Add(time.Hour)
		ok(t, b.control.TouchSandbox(b.ctx, sb.Name, later))
		ok(t, b.control.TouchSandbox(b.ctx, sb.Name, later.Add(-time.Minute))) // never backwards
		if got := must(b.control.Sandbox(b.ctx, sb.Name))(t).LastActivityAt; !got.Equal(later) {
			t.Fatalf("LastActivityAt = %v, want %v", got, later)
		}
		must(b.control.TransitionSandbox(b.ctx, sb.Name, ion.SandboxActive, ion.SandboxDormant, nil))(t)
		ok(t, b.control.TouchSandbox(b.ctx, sb.Name, later))
		if s, e := state(t, b, sb.Name); s != ion.SandboxActive || e != ion.SandboxActive {
			t.Fatalf("after activity, states = %s, %s; want active", s, e)
		}
		wantErr(t, b.control.TouchSandbox(b.ctx, "nope", later), ion.ENOTFOUND, "")

		must(b.control.TransitionSandbox(b.ctx, sb.Name, ion.SandboxActive, ion.SandboxDormant, nil))(t)
		end := later.AddDate(0, 0, 30)
		got := must(b.control.ExtendSandbox(b.ctx, sb.Name, later.Add(time.Hour), &end, ptr(true)))(t)
		want := sb
		want.State, want.LastActivityAt, want.ExpiresAt, want.Pinned = ion.SandboxActive, later.Add(time.Hour), &end, true
		same(t, "extended sandbox", got, want)
		same(t, "extended sandbox read", must(b.control.Sandbox(b.ctx, sb.Name))(t), want)
		got = must(b.control.ExtendSandbox(b.ctx, sb.Name, later, nil, ptr(false)))(t)
		if got.Pinned || got.ExpiresAt == nil || !got.LastActivityAt.Equal(later.Add(time.Hour)) {
			t.Fatalf("after unpinning, sandbox = %+v", got)
		}
		must(b.control.TransitionSandbox(b.ctx, sb.Name, ion.SandboxActive, ion.SandboxExpired, nil))(t)
		_, err := b.control.ExtendSandbox(b.ctx, sb.Name, later, nil, nil)
		wantErr(t, err, ion.ECONFLICT, "")
		_, err = b.control.ExtendSandbox(b.ctx, "nope", later, nil, nil)
		wantErr(t, err, ion.ENOTFOUND, "")
	})

	t.Run("Checkpoints", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		sb := newSandbox(t, b, "cps")
		first := must(b.control.CreateCheckpoint(b.ctx, sb.Name, "before-import"))(t)
		second := must(b.control.CreateCheckpoint(b.ctx, sb.Name, "after-import"))(t)
		if first.Name != "before-import" || first.CreatedAt.IsZero() {
			t.Fatalf("checkpoint = %+v", first)
		}
		same(t, "checkpoints", must(b.control.Checkpoints(b.ctx, sb.Name))(t), []ion.Checkpoint{first, second})
		_, err := b.control.CreateCheckpoint(b.ctx, sb.Name, "before-import")
		wantErr(t, err, ion.ECONFLICT, "")
		_, err = b.control.CreateCheckpoint(b.ctx, "nope", "x")
		wantErr(t, err, ion.ENOTFOUND, "")
		ok(t, b.control.DeleteCheckpoint(b.ctx, sb.Name, "before-import"))
		wantErr(t, b.control.DeleteCheckpoint(b.ctx, sb.Name, "before-import"), ion.ENOTFOUND, "")
		same(t, "checkpoints after a delete", must(b.control.Checkpoints(b.ctx, sb.Name))(t), []ion.Checkpoint{second})
		same(t, "checkpoints of an unknown sandbox", must(b.control.Checkpoints(b.ctx, "nope"))(t), []ion.Checkpoint{})
		ok(t, b.control.DeleteSandbox(b.ctx, sb.Name))
		same(t, "checkpoints of a deleted sandbox", must(b.control.Checkpoints(b.ctx, sb.Name))(t), []ion.Checkpoint{})
	})

	t.Run("EventLog", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		at := time.Date(2026, 5, 4, 3, 2, 1, 123456000, time.UTC)
		e1 := must(b.control.AddSandboxEvent(b.ctx, ion.SandboxEvent{Sandbox: "logged", Kind: ion.EventRequested, Actor: "operator", At: at}))(t)
		e2 := must(b.control.AddSandboxEvent(b.ctx, ion.SandboxEvent{Sandbox: "logged", Kind: ion.EventReset, Actor: "operator", Detail: "baseline"}))(t)
		must(b.control.AddSandboxEvent(b.ctx, ion.SandboxEvent{Sandbox: "other", Kind: ion.EventDeleted, Actor: "operator"}))(t)
		if e1.ID == 0 || e2.ID <= e1.ID || !e1.At.Equal(at) || e2.At.IsZero() {
			t.Fatalf("events = %+v, %+v", e1, e2)
		}
		same(t, "log", must(b.control.SandboxEvents(b.ctx, "logged"))(t), []ion.SandboxEvent{e1, e2})
		same(t, "log of a name without events", must(b.control.SandboxEvents(b.ctx, "nope"))(t), []ion.SandboxEvent{})
		_, err := b.control.AddSandboxEvent(b.ctx, ion.SandboxEvent{Sandbox: "logged", Kind: "slept"})
		wantErr(t, err, ion.EVALIDATION, "kind")
	})
}
