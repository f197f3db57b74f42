package storetest

import (
	"fmt"
	"testing"

	"github.com/ionbox/ionbox/ion"
)

// runSteps returns a run's steps in id order.
func runStepsOf(t *testing.T, b *bundle, runID ion.ID) []ion.RunStep {
	t.Helper()
	return must(b.ts.RunSteps(b.ctx, ion.ListOptions{Limit: 100, Filters: []ion.Filter{{Field: "runId", Op: ion.OpEq, Value: runID}}}))(t).Items
}

// setStep moves run step id to status and returns it.
func setStep(t *testing.T, b *bundle, id ion.ID, status string) ion.RunStep {
	t.Helper()
	cur := must(b.ts.RunStep(b.ctx, id))(t)
	return must(b.ts.UpdateRunStep(b.ctx, ion.RunStepPatch{ID: id, Etag: cur.Etag, Status: &status}))(t)
}

func testRuns(t *testing.T, h *harness) {
	t.Run("CreateCopiesProcedure", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		p, steps, fields := procedureWithSteps(t, b)
		run := must(b.ts.CreateRun(b.ctx, ion.Run{ProcedureID: p.ID}))(t)
		etagOK(t, run.Etag)
		if run.Title != p.Title || run.Status != ion.StatusTodo || run.StartedAt != nil || run.CompletedAt != nil || run.Archived || run.PartID != nil {
			t.Fatalf("run = %+v, want the procedure's title, TODO, not started", run)
		}
		same(t, "run read", must(b.ts.Run(b.ctx, run.ID))(t), run)

		rs := runStepsOf(t, b, run.ID)
		if len(rs) != 3 {
			t.Fatalf("run has %d steps, want 3", len(rs))
		}
		byOrigin := map[ion.ID]ion.RunStep{}
		for _, s := range rs {
			if s.OriginStepID == nil || s.Status != ion.StatusTodo || s.RunID != run.ID {
				t.Fatalf("run step = %+v, want an origin step, TODO, run %d", s, run.ID)
			}
			byOrigin[*s.OriginStepID] = s
		}
		r1, r2, r3 := byOrigin[steps[0].ID], byOrigin[steps[1].ID], byOrigin[steps[2].ID]
		if r1.Title != "Prepare" || r1.Content != "Get parts" || r2.Title != "Assemble" || r3.Title != "Clean" {
			t.Fatalf("run steps %+v do not carry the procedure's titles and content", rs)
		}
		if r1.Position != steps[0].Position || r2.Position != steps[1].Position {
			t.Fatalf("positions %d, %d, want %d, %d", r1.Position, r2.Position, steps[0].Position, steps[1].Position)
		}
		// Parents and upstream edges point at the run's own steps.
		same(t, "parent of the copied sub-step", r3.ParentID, &r1.ID)
		same(t, "upstream of the copied step", r2.UpstreamStepIDs, []ion.ID{r1.ID})
		same(t, "upstream of the first step", r1.UpstreamStepIDs, []ion.ID{})

		fs := must(b.ts.RunStepFields(b.ctx, ion.ListOptions{Limit: 10}))(t)
		if fs.TotalCount != 2 {
			t.Fatalf("%d run step fields, want 2", fs.TotalCount)
		}
		for i, f := range fs.Items {
			want := ion.RunStepField{Meta: f.Meta, RunStepID: []ion.ID{r1.ID, r2.ID}[i], Name: fields[i].Name, Type: fields[i].Type,
				Required: fields[i].Required, Unit: fields[i].Unit, Options: fields[i].Options}
			same(t, fmt.Sprintf("run step field %d", i), f, want)
			etagOK(t, f.Etag)
		}

		// A second run gets its own copies.
		run2 := must(b.ts.CreateRun(b.ctx, ion.Run{ProcedureID: p.ID, Title: "Second"}))(t)
		if rs2 := runStepsOf(t, b, run2.ID); len(rs2) != 3 || rs2[0].ID == rs[0].ID {
			t.Fatalf("second run's steps %s overlap the first's %s", stepIDs(rs2), stepIDs(rs))
		}
		_, err := b.ts.CreateRun(b.ctx, ion.Run{ProcedureID: 999})
		wantErr(t, err, ion.EVALIDATION, "procedureId")
	})

	t.Run("LinksInventory", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		p, _, _ := procedureWithSteps(t, b)
		part := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "bracket", TrackingType: ptr(ion.TrackingSerial)}))(t)
		other := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "other"}))(t)
		inv := must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: part.ID, SerialNumber: ptr("SN-1"), Quantity: 1}))(t)
		inv2 := must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: part.ID, SerialNumber: ptr("SN-2"), Quantity: 1}))(t)

		_, err := b.ts.CreateRun(b.ctx, ion.Run{ProcedureID: p.ID, PartInventoryID: &inv.ID, PartID: &other.ID})
		wantErr(t, err, ion.EVALIDATION, "partInventoryId")
		_, err = b.ts.CreateRun(b.ctx, ion.Run{ProcedureID: p.ID, PartInventoryID: ptr(ion.ID(999))})
		wantErr(t, err, ion.EVALIDATION, "partInventoryId")
		_, err = b.ts.CreateRun(b.ctx, ion.Run{ProcedureID: p.ID, PartID: ptr(ion.ID(999))})
		wantErr(t, err, ion.EVALIDATION, "partId")

		run := must(b.ts.CreateRun(b.ctx, ion.Run{ProcedureID: p.ID, Title: "PN - SN - Proc", PartInventoryID: &inv.ID}))(t)
		same(t, "run's part", run.PartID, &part.ID)
		if got := must(b.ts.PartInventory(b.ctx, inv.ID))(t); got.Status != ion.InvWIP {
			t.Fatalf("linked inventory status = %s, want WIP", got.Status)
		}
		// Relinking moves the WIP status.
		run = must(b.ts.UpdateRun(b.ctx, ion.RunPatch{ID: run.ID, Etag: run.Etag, PartInventoryID: &inv2.ID, Title: ptr("Relinked")}))(t)
		if run.Title != "Relinked" || *run.PartInventoryID != inv2.ID {
			t.Fatalf("updated run = %+v", run)
		}
		for id, want := range map[ion.ID]string{inv.ID: ion.InvAvailable, inv2.ID: ion.InvWIP} {
			if got := must(b.ts.PartInventory(b.ctx, id))(t).Status; got != want {
				t.Fatalf("inventory %d status = %s, want %s", id, got, want)
			}
		}
		_, err = b.ts.UpdateRun(b.ctx, ion.RunPatch{ID: run.ID, Etag: run.Etag, Title: ptr(" ")})
		wantErr(t, err, ion.EVALIDATION, "title")
	})

	t.Run("DerivedStatus", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		p := must(b.ts.CreateProcedure(b.ctx, ion.Procedure{Title: "Three steps"}))(t)
		for i := range 3 {
			must(b.ts.CreateStep(b.ctx, ion.Step{ProcedureID: p.ID, Title: fmt.Sprint("step ", i)}))(t)
		}
		part := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "p"}))(t)
		inv := must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: part.ID, Quantity: 1}))(t)
		run := must(b.ts.CreateRun(b.ctx, ion.Run{ProcedureID: p.ID, PartInventoryID: &inv.ID}))(t)
		rs := runStepsOf(t, b, run.ID)
		var startedAt ion.Run
		for i, c := range []struct {
			step      int
			status    string
			wantRun   string
			wantInv   string
			started   bool
			completed bool
		}{
			{0, ion.StatusInProgress, ion.StatusInProgress, ion.InvWIP, true, false},
			{1, ion.StatusHold, ion.StatusHold, ion.InvWIP, true, false},
			{2, ion.StatusRedline, ion.StatusRedline, ion.InvWIP, true, false},
			{0, ion.StatusFailed, ion.StatusFailed, ion.InvWIP, true, false},
			{0, ion.StatusComplete, ion.StatusRedline, ion.InvWIP, true, false},
			{2, ion.StatusComplete, ion.StatusHold, ion.InvWIP, true, false},
			{1, ion.StatusComplete, ion.StatusComplete, ion.InvAvailable, true, true},
			{2, ion.StatusInProgress, ion.StatusInProgress, ion.InvWIP, true, false},
			{2, ion.StatusCanceled, ion.StatusComplete, ion.InvAvailable, true, true},
		} {
			setStep(t, b, rs[c.step].ID, c.status)
			got := must(b.ts.Run(b.ctx, run.ID))(t)
			if got.Status != c.wantRun || (got.StartedAt != nil) != c.started || (got.CompletedAt != nil) != c.completed {
				t.Fatalf("after move %d (step %d to %s): run = %+v, want %s, started %v, completed %v", i, c.step, c.status, got, c.wantRun, c.started, c.completed)
			}
			if i == 0 {
				startedAt = got
			} else if !got.StartedAt.Equal(*startedAt.StartedAt) {
				t.Fatalf("StartedAt moved from %v to %v", startedAt.StartedAt, got.StartedAt)
			}
			if s := must(b.ts.PartInventory(b.ctx, inv.ID))(t).Status; s != c.wantInv {
				t.Fatalf("after move %d: inventory status %s, want %s", i, s, c.wantInv)
			}
		}
		_, err := b.ts.UpdateRunStep(b.ctx, ion.RunStepPatch{ID: rs[0].ID, Etag: must(b.ts.RunStep(b.ctx, rs[0].ID))(t).Etag, Status: ptr("DONE")})
		wantErr(t, err, ion.EVALIDATION, "status")
	})

	t.Run("UpstreamBeforeStart", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		p := must(b.ts.CreateProcedure(b.ctx, ion.Procedure{Title: "Chain"}))(t)
		a := must(b.ts.CreateStep(b.ctx, ion.Step{ProcedureID: p.ID, Title: "a"}))(t)
		a2 := must(b.ts.CreateStep(b.ctx, ion.Step{ProcedureID: p.ID, Title: "a2"}))(t)
		must(b.ts.CreateStep(b.ctx, ion.Step{ProcedureID: p.ID, Title: "b", UpstreamStepIDs: []ion.ID{a.ID, a2.ID}}))(t)
		run := must(b.ts.CreateRun(b.ctx, ion.Run{ProcedureID: p.ID}))(t)
		rs := runStepsOf(t, b, run.ID)
		ra, ra2, rb := rs[0], rs[1], rs[2]

		for _, status := range []string{ion.StatusInProgress, ion.StatusComplete, ion.StatusHold} {
			_, err := b.ts.UpdateRunStep(b.ctx, ion.RunStepPatch{ID: rb.ID, Etag: rb.Etag, Status: ptr(status)})
			wantErr(t, err, ion.EVALIDATION, "status")
			wantMessage(t, err, fmt.Sprint(ra.ID), fmt.Sprint(ra2.ID))
		}
		setStep(t, b, ra.ID, ion.StatusComplete)
		_, err := b.ts.UpdateRunStep(b.ctx, ion.RunStepPatch{ID: rb.ID, Etag: rb.Etag, Status: ptr(ion.StatusInProgress)})
		wantErr(t, err, ion.EVALIDATION, "status")
		wantMessage(t, err, fmt.Sprint(ra2.ID))
		same(t, "blocked step", must(b.ts.RunStep(b.ctx, rb.ID))(t), rb)
		// Renaming a blocked step is fine; it does not start it.
		rb = must(b.ts.UpdateRunStep(b.ctx, ion.RunStepPatch{ID: rb.ID, Etag: rb.Etag, Title: ptr("b!")}))(t)
		setStep(t, b, ra2.ID, ion.StatusComplete)
		if got := setStep(t, b, rb.ID, ion.StatusInProgress); got.Status != ion.StatusInProgress || got.Title != "b!" {
			t.Fatalf("started step = %+v", got)
		}
	})

	t.Run("FieldValues", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		p := must(b.ts.CreateProcedure(b.ctx, ion.Procedure{Title: "Fields"}))(t)
		must(b.ts.CreateStep(b.ctx, ion.Step{ProcedureID: p.ID, Title: "s"}))(t)
		run := must(b.ts.CreateRun(b.ctx, ion.Run{ProcedureID: p.ID}))(t)
		step := runStepsOf(t, b, run.ID)[0]
		opts := []string{"pass", "fail", "n/a"}
		for _, c := range []struct {
			typ, value string
			want       string // normalised; "" when the value is refused
		}{
			{ion.FieldString, `"hello"`, `"hello"`},
			{ion.FieldString, `42`, ""},
			{ion.FieldNumber, `42.5`, `42.5`},
			{ion.FieldNumber, `"42.50"`, `42.5`},
			{ion.FieldNumber, `"abc"`, ""},
			{ion.FieldBoolean, `true`, `true`},
			{ion.FieldBoolean, `"FALSE"`, `false`},
			{ion.FieldBoolean, `1`, ""},
			{ion.FieldSelect, `"fail"`, `"fail"`},
			{ion.FieldSelect, `"maybe"`, ""},
			{ion.FieldMultiselect, `["pass","n/a"]`, `["pass","n/a"]`},
			{ion.FieldMultiselect, `["pass","maybe"]`, ""},
			{ion.FieldMultiselect, `"pass"`, ""},
			{ion.FieldDatetime, `"2026-04-20T12:00:00+02:00"`, `"2026-04-20T10:00:00Z"`},
			{ion.FieldDatetime, `"20 April"`, ""},
			{ion.FieldSignoff, `true`, `true`},
			{ion.FieldSignoff, `"Ada Lovelace"`, `"Ada Lovelace"`},
			{ion.FieldSignoff, `3`, ""},
			{ion.FieldFileAttachment, `"file-17"`, `"file-17"`},
			{ion.FieldString, `{not json`, ""},
		} {
			t.Run(c.typ+" "+c.value, func(t *testing.T) {
				f := must(b.ts.CreateRunStepField(b.ctx, ion.RunStepField{RunStepID: step.ID, Name: c.typ, Type: c.typ, Options: opts}))(t)
				if f.Value != nil {
					t.Fatalf("new field has value %q", *f.Value)
				}
				got, err := b.ts.UpdateRunStepFieldValue(b.ctx, f.ID, f.Etag, &c.value)
				if c.want == "" {
					wantErr(t, err, ion.EVALIDATION, "value")
					same(t, "field after a refused value", must(b.ts.RunStepField(b.ctx, f.ID))(t), f)
					return
				}
				ok(t, err)
				if got.Value == nil || *got.Value != c.want || got.Etag == f.Etag {
					t.Fatalf("stored value %v (etag %s), want %s and a new etag", got.Value, got.Etag, c.want)
				}
				same(t, "field read back", must(b.ts.RunStepField(b.ctx, f.ID))(t), got)
				// nil and JSON null clear the value.
				cleared := must(b.ts.UpdateRunStepFieldValue(b.ctx, f.ID, got.Etag, nil))(t)
				if cleared.Value != nil {
					t.Fatalf("value after clearing = %q", *cleared.Value)
				}
				again := must(b.ts.UpdateRunStepFieldValue(b.ctx, f.ID, cleared.Etag, &c.value))(t)
				if nulled := must(b.ts.UpdateRunStepFieldValue(b.ctx, f.ID, again.Etag, ptr("null")))(t); nulled.Value != nil {
					t.Fatalf("value after null = %q", *nulled.Value)
				}
				_, err = b.ts.UpdateRunStepFieldValue(b.ctx, f.ID, f.Etag, &c.value)
				wantErr(t, err, ion.ECONFLICT, "")
			})
		}
		// A value given at creation is checked too.
		_, err := b.ts.CreateRunStepField(b.ctx, ion.RunStepField{RunStepID: step.ID, Name: "n", Type: ion.FieldNumber, Value: ptr(`"x"`)})
		wantErr(t, err, ion.EVALIDATION, "value")
		f := must(b.ts.CreateRunStepField(b.ctx, ion.RunStepField{RunStepID: step.ID, Name: "n", Type: ion.FieldNumber, Value: ptr(`"7"`)}))(t)
		if f.Value == nil || *f.Value != "7" {
			t.Fatalf("created value = %v, want 7", f.Value)
		}
		_, err = b.ts.CreateRunStepField(b.ctx, ion.RunStepField{RunStepID: 999, Name: "n", Type: ion.FieldNumber})
		wantErr(t, err, ion.EVALIDATION, "runStepId")
	})

	t.Run("CancelAndArchive", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		p, _, _ := procedureWithSteps(t, b)
		part := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "p"}))(t)
		inv := must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: part.ID, Quantity: 1}))(t)
		run := must(b.ts.CreateRun(b.ctx, ion.Run{ProcedureID: p.ID, PartInventoryID: &inv.ID}))(t)
		rs := runStepsOf(t, b, run.ID)
		setStep(t, b, rs[0].ID, ion.StatusComplete)
		setStep(t, b, rs[2].ID, ion.StatusInProgress)
		run = must(b.ts.Run(b.ctx, run.ID))(t)

		_, err := b.ts.CancelRun(b.ctx, run.ID, rs[0].Etag)
		wantErr(t, err, ion.ECONFLICT, "")
		same(t, "run after a stale cancel", must(b.ts.Run(b.ctx, run.ID))(t), run)

		canceled := must(b.ts.CancelRun(b.ctx, run.ID, run.Etag))(t)
		if canceled.Status != ion.StatusCanceled || canceled.Etag == run.Etag {
			t.Fatalf("canceled run = %+v", canceled)
		}
		statuses := map[ion.ID]string{}
		for _, s := range runStepsOf(t, b, run.ID) {
			statuses[s.ID] = s.Status
		}
		same(t, "step statuses after cancel", statuses, map[ion.ID]string{rs[0].ID: ion.StatusComplete, rs[1].ID: ion.StatusCanceled, rs[2].ID: ion.StatusCanceled})
		if s := must(b.ts.PartInventory(b.ctx, inv.ID))(t).Status; s != ion.InvAvailable {
			t.Fatalf("inventory of a canceled run is %s, want AVAILABLE", s)
		}

		// Nothing in a canceled run changes any more.
		step := must(b.ts.RunStep(b.ctx, rs[1].ID))(t)
		_, err = b.ts.UpdateRunStep(b.ctx, ion.RunStepPatch{ID: step.ID, Etag: step.Etag, Status: ptr(ion.StatusTodo)})
		wantErr(t, err, ion.EVALIDATION, "id")
		_, err = b.ts.CreateRunStep(b.ctx, ion.RunStep{RunID: run.ID, Title: "late"})
		wantErr(t, err, ion.EVALIDATION, "runId")
		field := must(b.ts.RunStepFields(b.ctx, ion.ListOptions{Limit: 1}))(t).Items[0]
		_, err = b.ts.UpdateRunStepFieldValue(b.ctx, field.ID, field.Etag, ptr(`1`))
		wantErr(t, err, ion.EVALIDATION, "id")
		same(t, "canceled run", must(b.ts.Run(b.ctx, run.ID))(t), canceled)
		again := must(b.ts.CancelRun(b.ctx, run.ID, canceled.Etag))(t)
		same(t, "canceling twice", again, canceled)

		_, err = b.ts.ArchiveRun(b.ctx, run.ID, run.Etag)
		wantErr(t, err, ion.ECONFLICT, "")
		same(t, "run after a stale archive", must(b.ts.Run(b.ctx, run.ID))(t), canceled)
		archived := must(b.ts.ArchiveRun(b.ctx, run.ID, canceled.Etag))(t)
		if !archived.Archived || archived.Etag == canceled.Etag || archived.Status != ion.StatusCanceled {
			t.Fatalf("archived run = %+v", archived)
		}

		// A complete run cannot be canceled; archiving releases its WIP inventory.
		inv2 := must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: part.ID, Quantity: 1}))(t)
		one := must(b.ts.CreateProcedure(b.ctx, ion.Procedure{Title: "One step"}))(t)
		must(b.ts.CreateStep(b.ctx, ion.Step{ProcedureID: one.ID, Title: "only"}))(t)
		done := must(b.ts.CreateRun(b.ctx, ion.Run{ProcedureID: one.ID}))(t)
		setStep(t, b, runStepsOf(t, b, done.ID)[0].ID, ion.StatusComplete)
		done = must(b.ts.Run(b.ctx, done.ID))(t)
		_, err = b.ts.CancelRun(b.ctx, done.ID, done.Etag)
		wantErr(t, err, ion.EVALIDATION, "id")
		open := must(b.ts.CreateRun(b.ctx, ion.Run{ProcedureID: one.ID, PartInventoryID: &inv2.ID}))(t)
		if s := must(b.ts.PartInventory(b.ctx, inv2.ID))(t).Status; s != ion.InvWIP {
			t.Fatalf("inventory of an open run is %s, want WIP", s)
		}
		must(b.ts.ArchiveRun(b.ctx, open.ID, open.Etag))(t)
		if s := must(b.ts.PartInventory(b.ctx, inv2.ID))(t).Status; s != ion.InvAvailable {
			t.Fatalf("inventory of an archived run is %s, want AVAILABLE", s)
		}
	})

	t.Run("AddedStepsAndDelete", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		p := must(b.ts.CreateProcedure(b.ctx, ion.Procedure{Title: "One step"}))(t)
		must(b.ts.CreateStep(b.ctx, ion.Step{ProcedureID: p.ID, Title: "only"}))(t)
		run := must(b.ts.CreateRun(b.ctx, ion.Run{ProcedureID: p.ID}))(t)
		other := must(b.ts.CreateRun(b.ctx, ion.Run{ProcedureID: p.ID}))(t)
		first := runStepsOf(t, b, run.ID)[0]
		setStep(t, b, first.ID, ion.StatusComplete)
		if s := must(b.ts.Run(b.ctx, run.ID))(t).Status; s != ion.StatusComplete {
			t.Fatalf("run status %s, want COMPLETE", s)
		}
		added := must(b.ts.CreateRunStep(b.ctx, ion.RunStep{RunID: run.ID, Title: "extra", Content: "c", UpstreamStepIDs: []ion.ID{first.ID}}))(t)
		if added.Status != ion.StatusTodo || added.Position != 2 || added.OriginStepID != nil {
			t.Fatalf("added step = %+v", added)
		}
		same(t, "added step upstream", added.UpstreamStepIDs, []ion.ID{first.ID})
		if r := must(b.ts.Run(b.ctx, run.ID))(t); r.Status != ion.StatusInProgress || r.CompletedAt != nil {
			t.Fatalf("run with a new TODO step = %+v, want IN_PROGRESS and not completed", r)
		}
		_, err := b.ts.CreateRunStep(b.ctx, ion.RunStep{RunID: run.ID, Title: "x", UpstreamStepIDs: []ion.ID{runStepsOf(t, b, other.ID)[0].ID}})
		wantErr(t, err, ion.EVALIDATION, "upstreamStepIds")
		_, err = b.ts.CreateRunStep(b.ctx, ion.RunStep{RunID: 999, Title: "x"})
		wantErr(t, err, ion.EVALIDATION, "runId")

		issue := must(b.ts.CreateIssue(b.ctx, ion.Issue{Title: "scratch", RunStepID: &added.ID}))(t)
		run = must(b.ts.Run(b.ctx, run.ID))(t)
		err = b.ts.DeleteRun(b.ctx, run.ID, run.Etag)
		wantErr(t, err, ion.ECONFLICT, "")
		wantMessage(t, err, "issues")
		ok(t, b.ts.DeleteIssue(b.ctx, issue.ID, issue.Etag))
		wantErr(t, b.ts.DeleteRun(b.ctx, run.ID, other.Etag), ion.ECONFLICT, "")
		ok(t, b.ts.DeleteRun(b.ctx, run.ID, run.Etag))
		_, err = b.ts.Run(b.ctx, run.ID)
		wantErr(t, err, ion.ENOTFOUND, "")
		_, err = b.ts.RunStep(b.ctx, added.ID)
		wantErr(t, err, ion.ENOTFOUND, "")
		if n := len(runStepsOf(t, b, other.ID)); n != 1 {
			t.Fatalf("the other run has %d steps, want 1", n)
		}
	})
}
