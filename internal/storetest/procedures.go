package storetest

import (
	"fmt"
	"testing"

	"github.com/ionbox/ionbox/ion"
)

func testProcedures(t *testing.T, h *harness) {
	t.Run("CreateDefaults", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		p := must(b.ts.CreateProcedure(b.ctx, ion.Procedure{Title: "Build bracket"}))(t)
		if p.Type != ion.ProcBuild || p.Status != ion.ProcDraft || p.Version != 1 {
			t.Fatalf("procedure = %+v, want BUILD, DRAFT, version 1", p)
		}
		same(t, "procedure read", must(b.ts.Procedure(b.ctx, p.ID))(t), p)
		tp := must(b.ts.CreateProcedure(b.ctx, ion.Procedure{Title: "Inspect", Type: "inspection"}))(t)
		if tp.Type != ion.ProcInspection {
			t.Fatalf("type = %s, want INSPECTION", tp.Type)
		}
		_, err := b.ts.CreateProcedure(b.ctx, ion.Procedure{})
		wantErr(t, err, ion.EVALIDATION, "title")
		_, err = b.ts.CreateProcedure(b.ctx, ion.Procedure{Title: "x", Type: "PAINT"})
		wantErr(t, err, ion.EVALIDATION, "type")
		_, err = b.ts.CreateProcedure(b.ctx, ion.Procedure{Title: "x", Status: "DONE"})
		wantErr(t, err, ion.EVALIDATION, "status")
	})

	t.Run("Steps", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		p := must(b.ts.CreateProcedure(b.ctx, ion.Procedure{Title: "Build"}))(t)
		other := must(b.ts.CreateProcedure(b.ctx, ion.Procedure{Title: "Other"}))(t)
		foreign := must(b.ts.CreateStep(b.ctx, ion.Step{ProcedureID: other.ID, Title: "foreign"}))(t)
		s1 := must(b.ts.CreateStep(b.ctx, ion.Step{ProcedureID: p.ID, Title: "Prepare"}))(t)
		s2 := must(b.ts.CreateStep(b.ctx, ion.Step{ProcedureID: p.ID, Title: "Assemble", UpstreamStepIDs: []ion.ID{s1.ID, s1.ID}}))(t)
		s3 := must(b.ts.CreateStep(b.ctx, ion.Step{ProcedureID: p.ID, Title: "Clean", ParentID: &s1.ID, Type: "datagrid"}))(t)
		etagOK(t, s1.Etag)
		if s1.Position != 1 || s2.Position != 2 || s3.Position != 1 || s1.Type != "DEFAULT" || s3.Type != "DATAGRID" {
			t.Fatalf("positions/types = %d %d %d %s %s, want 1 2 1 DEFAULT DATAGRID", s1.Position, s2.Position, s3.Position, s1.Type, s3.Type)
		}
		same(t, "upstream of s2", s2.UpstreamStepIDs, []ion.ID{s1.ID})
		same(t, "upstream of s1", s1.UpstreamStepIDs, []ion.ID{})
		same(t, "step read", must(b.ts.Step(b.ctx, s2.ID))(t), s2)

		for _, c := range []struct {
			name  string
			step  ion.Step
			field string
		}{
			{"missing procedure", ion.Step{ProcedureID: 999}, "procedureId"},
			{"foreign parent", ion.Step{ProcedureID: p.ID, ParentID: &foreign.ID}, "parentId"},
			{"foreign upstream", ion.Step{ProcedureID: p.ID, UpstreamStepIDs: []ion.ID{foreign.ID}}, "upstreamStepIds"},
			{"missing upstream", ion.Step{ProcedureID: p.ID, UpstreamStepIDs: []ion.ID{999}}, "upstreamStepIds"},
			{"type", ion.Step{ProcedureID: p.ID, Type: "VIDEO"}, "type"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := b.ts.CreateStep(b.ctx, c.step)
				wantErr(t, err, ion.EVALIDATION, c.field)
			})
		}

		// Edges must not form a cycle, nor the parent chain.
		_, err := b.ts.UpdateStep(b.ctx, ion.StepPatch{ID: s1.ID, Etag: s1.Etag, UpstreamStepIDs: &[]ion.ID{s2.ID}})
		wantErr(t, err, ion.EVALIDATION, "upstreamStepIds")
		_, err = b.ts.UpdateStep(b.ctx, ion.StepPatch{ID: s1.ID, Etag: s1.Etag, UpstreamStepIDs: &[]ion.ID{s1.ID}})
		wantErr(t, err, ion.EVALIDATION, "upstreamStepIds")
		_, err = b.ts.UpdateStep(b.ctx, ion.StepPatch{ID: s1.ID, Etag: s1.Etag, ParentID: &s3.ID})
		wantErr(t, err, ion.EVALIDATION, "parentId")
		same(t, "s1 after refused updates", must(b.ts.Step(b.ctx, s1.ID))(t), s1)

		s4 := must(b.ts.CreateStep(b.ctx, ion.Step{ProcedureID: p.ID, Title: "Pack", UpstreamStepIDs: []ion.ID{s2.ID}}))(t)
		_, err = b.ts.UpdateStep(b.ctx, ion.StepPatch{ID: s1.ID, Etag: s1.Etag, UpstreamStepIDs: &[]ion.ID{s4.ID}})
		wantErr(t, err, ion.EVALIDATION, "upstreamStepIds")
		u := must(b.ts.UpdateStep(b.ctx, ion.StepPatch{ID: s3.ID, Etag: s3.Etag, Title: ptr("Wipe"), ParentID: ptr(ion.ID(0)),
			Position: ptr(int64(9)), UpstreamStepIDs: &[]ion.ID{s2.ID, s1.ID}}))(t)
		if u.Title != "Wipe" || u.ParentID != nil || u.Position != 9 || u.Etag == s3.Etag {
			t.Fatalf("updated step = %+v", u)
		}
		same(t, "updated upstream", u.UpstreamStepIDs, []ion.ID{s1.ID, s2.ID})
		steps := must(b.ts.Steps(b.ctx, ion.ListOptions{Limit: 10, Filters: []ion.Filter{{Field: "procedureId", Op: ion.OpEq, Value: p.ID}}}))(t)
		same(t, "steps of the procedure", ids(steps.Items, func(s ion.Step) ion.ID { return s.ID }), []ion.ID{s1.ID, s2.ID, s3.ID, s4.ID})
	})

	t.Run("Fields", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		p := must(b.ts.CreateProcedure(b.ctx, ion.Procedure{Title: "Build"}))(t)
		s := must(b.ts.CreateStep(b.ctx, ion.Step{ProcedureID: p.ID, Title: "Measure"}))(t)
		f := must(b.ts.CreateStepField(b.ctx, ion.StepField{StepID: s.ID, Name: "Torque", Type: "number", Required: true, Unit: ptr("Nm")}))(t)
		etagOK(t, f.Etag)
		if f.Type != ion.FieldNumber || *f.Unit != "Nm" || len(f.Options) != 0 {
			t.Fatalf("field = %+v", f)
		}
		same(t, "field read", must(b.ts.StepField(b.ctx, f.ID))(t), f)
		for _, c := range []struct {
			name  string
			field ion.StepField
			want  string
		}{
			{"missing step", ion.StepField{StepID: 999, Name: "x", Type: ion.FieldString}, "stepId"},
			{"no name", ion.StepField{StepID: s.ID, Type: ion.FieldString}, "name"},
			{"bad type", ion.StepField{StepID: s.ID, Name: "x", Type: "COLOR"}, "type"},
			{"select without options", ion.StepField{StepID: s.ID, Name: "x", Type: ion.FieldSelect}, "options"},
			{"duplicate options", ion.StepField{StepID: s.ID, Name: "x", Type: ion.FieldMultiselect, Options: []string{"a", "a"}}, "options"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := b.ts.CreateStepField(b.ctx, c.field)
				wantErr(t, err, ion.EVALIDATION, c.want)
			})
		}
		u := must(b.ts.UpdateStepField(b.ctx, ion.StepFieldPatch{ID: f.ID, Etag: f.Etag, Type: ptr("select"), Options: &[]string{"ok", "nok"}, Unit: ptr("")}))(t)
		if u.Type != ion.FieldSelect || u.Unit != nil || u.Etag == f.Etag {
			t.Fatalf("updated field = %+v", u)
		}
		same(t, "options", u.Options, []string{"ok", "nok"})
		_, err := b.ts.UpdateStepField(b.ctx, ion.StepFieldPatch{ID: f.ID, Etag: u.Etag, Options: &[]string{}})
		wantErr(t, err, ion.EVALIDATION, "options")
	})

	t.Run("OnlyDraftsChange", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		p := must(b.ts.CreateProcedure(b.ctx, ion.Procedure{Title: "Build"}))(t)
		s := must(b.ts.CreateStep(b.ctx, ion.Step{ProcedureID: p.ID, Title: "Measure"}))(t)
		f := must(b.ts.CreateStepField(b.ctx, ion.StepField{StepID: s.ID, Name: "Torque", Type: ion.FieldNumber}))(t)
		p = must(b.ts.UpdateProcedure(b.ctx, ion.ProcedurePatch{ID: p.ID, Etag: p.Etag, Status: ptr("in_review")}))(t)
		if p.Status != ion.ProcInReview {
			t.Fatalf("status = %s, want IN_REVIEW", p.Status)
		}
		check := func(t *testing.T, field string, err error) {
			t.Helper()
			wantErr(t, err, ion.EVALIDATION, field)
			wantMessage(t, err, "DRAFT")
		}
		for _, status := range []string{ion.ProcInReview, ion.ProcReleased} {
			t.Run(status, func(t *testing.T) {
				_, err := b.ts.UpdateProcedure(b.ctx, ion.ProcedurePatch{ID: p.ID, Etag: p.Etag, Title: ptr("New")})
				check(t, "title", err)
				_, err = b.ts.UpdateProcedure(b.ctx, ion.ProcedurePatch{ID: p.ID, Etag: p.Etag, Status: ptr(ion.ProcReleased), Description: ptr("d")})
				check(t, "description", err)
				_, err = b.ts.CreateStep(b.ctx, ion.Step{ProcedureID: p.ID, Title: "More"})
				check(t, "procedureId", err)
				_, err = b.ts.UpdateStep(b.ctx, ion.StepPatch{ID: s.ID, Etag: s.Etag, Title: ptr("x")})
				check(t, "id", err)
				check(t, "id", b.ts.DeleteStep(b.ctx, s.ID, s.Etag))
				_, err = b.ts.CreateStepField(b.ctx, ion.StepField{StepID: s.ID, Name: "n", Type: ion.FieldString})
				check(t, "stepId", err)
				_, err = b.ts.UpdateStepField(b.ctx, ion.StepFieldPatch{ID: f.ID, Etag: f.Etag, Name: ptr("x")})
				check(t, "id", err)
				check(t, "id", b.ts.DeleteStepField(b.ctx, f.ID, f.Etag))
				wantErr(t, b.ts.DeleteProcedure(b.ctx, p.ID, p.Etag), ion.EVALIDATION, "id")
				same(t, "step after refused changes", must(b.ts.Step(b.ctx, s.ID))(t), s)
				same(t, "field after refused changes", must(b.ts.StepField(b.ctx, f.ID))(t), f)
			})
			if status == ion.ProcInReview {
				p = must(b.ts.UpdateProcedure(b.ctx, ion.ProcedurePatch{ID: p.ID, Etag: p.Etag, Status: ptr(ion.ProcReleased)}))(t)
			}
		}
		// RELEASED is final.
		_, err := b.ts.UpdateProcedure(b.ctx, ion.ProcedurePatch{ID: p.ID, Etag: p.Etag, Status: ptr(ion.ProcDraft)})
		wantErr(t, err, ion.EVALIDATION, "status")
		same(t, "released procedure", must(b.ts.Procedure(b.ctx, p.ID))(t), p)

		// A review can go back to draft, and then the procedure is editable again.
		q := must(b.ts.CreateProcedure(b.ctx, ion.Procedure{Title: "Q"}))(t)
		q = must(b.ts.UpdateProcedure(b.ctx, ion.ProcedurePatch{ID: q.ID, Etag: q.Etag, Status: ptr(ion.ProcInReview)}))(t)
		q = must(b.ts.UpdateProcedure(b.ctx, ion.ProcedurePatch{ID: q.ID, Etag: q.Etag, Status: ptr(ion.ProcDraft)}))(t)
		q = must(b.ts.UpdateProcedure(b.ctx, ion.ProcedurePatch{ID: q.ID, Etag: q.Etag, Title: ptr("Q2"), ExportControlled: ptr(true)}))(t)
		if q.Title != "Q2" || !q.ExportControlled || q.Status != ion.ProcDraft {
			t.Fatalf("procedure = %+v", q)
		}
	})

	t.Run("DeleteCascades", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		p := must(b.ts.CreateProcedure(b.ctx, ion.Procedure{Title: "Build"}))(t)
		s1 := must(b.ts.CreateStep(b.ctx, ion.Step{ProcedureID: p.ID, Title: "1"}))(t)
		child := must(b.ts.CreateStep(b.ctx, ion.Step{ProcedureID: p.ID, Title: "1.1", ParentID: &s1.ID}))(t)
		f := must(b.ts.CreateStepField(b.ctx, ion.StepField{StepID: child.ID, Name: "n", Type: ion.FieldString}))(t)
		s2 := must(b.ts.CreateStep(b.ctx, ion.Step{ProcedureID: p.ID, Title: "2", UpstreamStepIDs: []ion.ID{child.ID}}))(t)

		ok(t, b.ts.DeleteStep(b.ctx, s1.ID, s1.Etag))
		for _, id := range []ion.ID{s1.ID, child.ID} {
			_, err := b.ts.Step(b.ctx, id)
			wantErr(t, err, ion.ENOTFOUND, "")
		}
		_, err := b.ts.StepField(b.ctx, f.ID)
		wantErr(t, err, ion.ENOTFOUND, "")
		after := must(b.ts.Step(b.ctx, s2.ID))(t)
		if len(after.UpstreamStepIDs) != 0 || after.Etag == s2.Etag {
			t.Fatalf("downstream step after delete = %+v, want no upstream steps and a new etag", after)
		}

		run := must(b.ts.CreateRun(b.ctx, ion.Run{ProcedureID: p.ID}))(t)
		err = b.ts.DeleteProcedure(b.ctx, p.ID, p.Etag)
		wantErr(t, err, ion.ECONFLICT, "")
		wantMessage(t, err, "runs")
		ok(t, b.ts.DeleteRun(b.ctx, run.ID, run.Etag))
		ok(t, b.ts.DeleteProcedure(b.ctx, p.ID, p.Etag))
		_, err = b.ts.Step(b.ctx, s2.ID)
		wantErr(t, err, ion.ENOTFOUND, "")
		if n := must(b.ts.Steps(b.ctx, ion.ListOptions{}))(t).TotalCount; n != 0 {
			t.Fatalf("%d steps left, want 0", n)
		}
	})
}

// procedureWithSteps makes a DRAFT procedure: s1 with a NUMBER field, s2
// downstream of s1 with a SELECT field, s3 a sub-step of s1.
func procedureWithSteps(t *testing.T, b *bundle) (ion.Procedure, []ion.Step, []ion.StepField) {
	t.Helper()
	p := must(b.ts.CreateProcedure(b.ctx, ion.Procedure{Title: "Assemble bracket"}))(t)
	s1 := must(b.ts.CreateStep(b.ctx, ion.Step{ProcedureID: p.ID, Title: "Prepare", Content: "Get parts"}))(t)
	s2 := must(b.ts.CreateStep(b.ctx, ion.Step{ProcedureID: p.ID, Title: "Assemble", UpstreamStepIDs: []ion.ID{s1.ID}}))(t)
	s3 := must(b.ts.CreateStep(b.ctx, ion.Step{ProcedureID: p.ID, Title: "Clean", ParentID: &s1.ID}))(t)
	f1 := must(b.ts.CreateStepField(b.ctx, ion.StepField{StepID: s1.ID, Name: "Length", Type: ion.FieldNumber, Required: true, Unit: ptr("mm")}))(t)
	f2 := must(b.ts.CreateStepField(b.ctx, ion.StepField{StepID: s2.ID, Name: "Result", Type: ion.FieldSelect, Options: []string{"pass", "fail"}}))(t)
	return p, []ion.Step{s1, s2, s3}, []ion.StepField{f1, f2}
}

func stepIDs(steps []ion.RunStep) string {
	return fmt.Sprint(ids(steps, func(s ion.RunStep) ion.ID { return s.ID }))
}
