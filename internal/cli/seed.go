package cli

import (
	"context"
	"fmt"
	"sort"

	"github.com/ionbox/ionbox/client"
)

// SeedCmd groups seeding commands.
type SeedCmd struct {
	Chain SeedChainCmd `cmd:"" help:"Create part → mBOM → location → inventory → procedure → run → completed steps → build requirement → installation; safe to re-run."`
}

// SeedChainCmd is `ionbox seed chain`. Every object it makes carries the
// marker <prefix>-<n> (part numbers, serials, lots, titles), which is how a
// second run finds what exists and completes only the rest.
type SeedChainCmd struct {
	IONFlags
	Count  int    `default:"1" help:"How many chains (marked <prefix>-1 … <prefix>-N)."`
	Prefix string `default:"SEED" help:"Marker that starts every seeded part number and title."`
}

// seedRow is one line of the report.
type seedRow struct {
	Chain  string `json:"chain"`
	Object string `json:"object"`
	ID     int64  `json:"id"`
	Result string `json:"result"` // created, found or completed
}

// seeder holds one run of seed chain.
type seeder struct {
	ctx  context.Context
	cl   *client.Client
	rows []seedRow
	mark string
}

func (s *seeder) note(object string, id int64, created bool) {
	r := "found"
	if created {
		r = "created"
	}
	s.rows = append(s.rows, seedRow{Chain: s.mark, Object: object, ID: id, Result: r})
}

func (c *SeedChainCmd) Run(g *Globals) error {
	if c.Count < 1 {
		return fmt.Errorf("--count must be at least 1, got %d", c.Count)
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	s := &seeder{ctx: g.Ctx, cl: cl}
	var runErr error
	for i := 1; i <= c.Count && runErr == nil; i++ {
		s.mark = fmt.Sprintf("%s-%d", c.Prefix, i)
		if err := s.chain(); err != nil {
			runErr = fmt.Errorf("seed chain %s: %w", s.mark, err)
		}
	}
	if c.JSON {
		if err := printJSON(g.Stdout, map[string]any{"baseUrl": cl.BaseURL(), "objects": s.rows}); err != nil {
			return err
		}
	} else {
		p := paletteFor(g.Stdout)
		rows := make([][]string, 0, len(s.rows))
		for _, r := range s.rows {
			rows = append(rows, []string{r.Chain, r.Object, fmt.Sprint(r.ID), p.result(r.Result)})
		}
		if err := printTable(g.Stdout, []string{"CHAIN", "OBJECT", "ID", "RESULT"}, rows); err != nil {
			return err
		}
	}
	return runErr
}

// chain finds or creates one whole chain.
func (s *seeder) chain() error {
	m := s.mark
	assy, err := s.part(m+"-ASSY", "SERIAL")
	if err != nil {
		return err
	}
	sub, err := s.part(m+"-SUB", "SERIAL")
	if err != nil {
		return err
	}
	bolt, err := s.part(m+"-BOLT", "LOT")
	if err != nil {
		return err
	}
	subItem, err := s.mbomItem(sub, assy, 1, "mBOM "+m+"-SUB in "+m+"-ASSY")
	if err != nil {
		return err
	}
	if _, err := s.mbomItem(bolt, sub, 4, "mBOM "+m+"-BOLT in "+m+"-SUB"); err != nil {
		return err
	}
	loc, err := s.location(m + "-BAY")
	if err != nil {
		return err
	}
	assyInv, err := s.inventory(assy, m+"-SN-1", "", 1, loc)
	if err != nil {
		return err
	}
	subInv, err := s.inventory(sub, m+"-SN-A", "", 1, loc)
	if err != nil {
		return err
	}
	if _, err := s.inventory(bolt, "", m+"-L-1", 10, loc); err != nil {
		return err
	}
	proc, err := s.procedure(m + " assemble")
	if err != nil {
		return err
	}
	run, err := s.run(m+" build", proc, assyInv)
	if err != nil {
		return err
	}
	if err := s.completeSteps(run); err != nil {
		return err
	}
	br, err := s.buildRequirement(sub, assyInv, subItem)
	if err != nil {
		return err
	}
	return s.installation(br, subInv)
}

func eq(v any) map[string]any { return map[string]any{"eq": v} }

func (s *seeder) part(number, tracking string) (int64, error) {
	page, err := s.cl.Parts(s.ctx, client.ListParams{First: 1, Filters: map[string]any{"partNumber": eq(number)}})
	if err != nil {
		return 0, fmt.Errorf("find part %s: %w", number, err)
	}
	if len(page.Nodes) > 0 {
		s.note("part "+number, page.Nodes[0].ID, false)
		return page.Nodes[0].ID, nil
	}
	p, err := s.cl.CreatePart(s.ctx, client.CreatePartInput{PartNumber: number, Description: "seeded by ionbox seed chain", TrackingType: tracking})
	if err != nil {
		return 0, fmt.Errorf("create part %s: %w", number, err)
	}
	s.note("part "+number, p.ID, true)
	return p.ID, nil
}

// findOne runs a connection query and returns the first node's id (0: none).
func (s *seeder) findOne(field, filterType string, filters map[string]any) (int64, error) {
	var out map[string]struct {
		Edges []struct{ Node struct{ ID int64 } }
	}
	q := fmt.Sprintf(`query SeedFind($f: %s) { %s(filters: $f, first: 1) { edges { node { id } } } }`, filterType, field)
	if err := s.cl.Do(s.ctx, q, map[string]any{"f": filters}, &out); err != nil {
		return 0, fmt.Errorf("find %s: %w", field, err)
	}
	if e := out[field].Edges; len(e) > 0 {
		return e[0].Node.ID, nil
	}
	return 0, nil
}

// createOne runs a create mutation and returns the created object's id.
func (s *seeder) createOne(mutation, inputType, payloadField string, input map[string]any) (int64, error) {
	var out map[string]map[string]struct{ ID int64 }
	q := fmt.Sprintf(`mutation SeedCreate($input: %s!) { %s(input: $input) { %s { id } } }`, inputType, mutation, payloadField)
	if err := s.cl.Do(s.ctx, q, map[string]any{"input": input}, &out); err != nil {
		return 0, fmt.Errorf("%s: %w", mutation, err)
	}
	return out[mutation][payloadField].ID, nil
}

func (s *seeder) mbomItem(part, parent int64, qty float64, label string) (int64, error) {
	id, err := s.findOne("mbomItems", "MBomItemsInputFilters", map[string]any{"partId": eq(part), "parentId": eq(parent)})
	if err != nil || id != 0 {
		if id != 0 {
			s.note(label, id, false)
		}
		return id, err
	}
	id, err = s.createOne("createMbomItem", "CreateMBomItemInput", "mbomItem", map[string]any{"partId": part, "parentId": parent, "quantity": qty})
	if err == nil {
		s.note(label, id, true)
	}
	return id, err
}

func (s *seeder) location(name string) (int64, error) {
	id, err := s.findOne("locations", "LocationsInputFilters", map[string]any{"name": eq(name)})
	if err != nil || id != 0 {
		if id != 0 {
			s.note("location "+name, id, false)
		}
		return id, err
	}
	id, err = s.createOne("createLocation", "CreateLocationInput", "location", map[string]any{"name": name})
	if err == nil {
		s.note("location "+name, id, true)
	}
	return id, err
}

func (s *seeder) inventory(part int64, serial, lot string, qty float64, loc int64) (int64, error) {
	label, filters := "inventory lot "+lot, map[string]any{"partId": eq(part), "lotNumber": eq(lot)}
	if serial != "" {
		label, filters = "inventory serial "+serial, map[string]any{"partId": eq(part), "serialNumber": eq(serial)}
	}
	page, err := s.cl.PartInventories(s.ctx, client.ListParams{First: 1, Filters: filters})
	if err != nil {
		return 0, fmt.Errorf("find %s: %w", label, err)
	}
	if len(page.Nodes) > 0 {
		s.note(label, page.Nodes[0].ID, false)
		return page.Nodes[0].ID, nil
	}
	inv, err := s.cl.CreatePartInventory(s.ctx, client.CreatePartInventoryInput{PartID: part, SerialNumber: serial, LotNumber: lot, Quantity: &qty, LocationID: loc})
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", label, err)
	}
	s.note(label, inv.ID, true)
	return inv.ID, nil
}

// procedure finds or creates a draft procedure with two steps (the second
// downstream of the first) and a required NUMBER field on the first.
func (s *seeder) procedure(title string) (int64, error) {
	page, err := s.cl.Procedures(s.ctx, client.ListParams{First: 1, Filters: map[string]any{"title": eq(title)}})
	if err != nil {
		return 0, fmt.Errorf("find procedure %q: %w", title, err)
	}
	var proc *client.Procedure
	if len(page.Nodes) > 0 {
		proc = &page.Nodes[0]
		s.note("procedure "+title, proc.ID, false)
	} else {
		if proc, err = s.cl.CreateProcedure(s.ctx, client.CreateProcedureInput{Title: title, Description: "seeded by ionbox seed chain", Type: "BUILD"}); err != nil {
			return 0, fmt.Errorf("create procedure %q: %w", title, err)
		}
		s.note("procedure "+title, proc.ID, true)
	}
	steps := map[string]client.Step{}
	for _, st := range proc.Steps {
		if st.Title != nil {
			steps[*st.Title] = st
		}
	}
	ensureStep := func(title string, upstream []int64) (client.Step, error) {
		if st, ok := steps[title]; ok {
			s.note("step "+title, st.ID, false)
			return st, nil
		}
		st, err := s.cl.CreateStep(s.ctx, client.CreateStepInput{ProcedureID: proc.ID, Title: title, UpstreamStepIDs: upstream})
		if err != nil {
			return client.Step{}, fmt.Errorf("create step %q: %w", title, err)
		}
		s.note("step "+title, st.ID, true)
		return *st, nil
	}
	first, err := ensureStep("Fit sub-assembly", nil)
	if err != nil {
		return 0, err
	}
	if _, err := ensureStep("Torque bolts", []int64{first.ID}); err != nil {
		return 0, err
	}
	for _, f := range first.Fields {
		if f.Name == "Torque" {
			s.note("step field Torque", f.ID, false)
			return proc.ID, nil
		}
	}
	f, err := s.cl.CreateStepField(s.ctx, client.CreateStepFieldInput{StepID: first.ID, Name: "Torque", Type: "NUMBER", Required: true, Unit: "Nm"})
	if err != nil {
		return 0, fmt.Errorf("create step field: %w", err)
	}
	s.note("step field Torque", f.ID, true)
	return proc.ID, nil
}

func (s *seeder) run(title string, proc, inv int64) (*client.Run, error) {
	page, err := s.cl.Runs(s.ctx, client.ListParams{First: 1, Filters: map[string]any{"title": eq(title), "partInventoryId": eq(inv)}})
	if err != nil {
		return nil, fmt.Errorf("find run %q: %w", title, err)
	}
	if len(page.Nodes) > 0 {
		s.note("run "+title, page.Nodes[0].ID, false)
		return &page.Nodes[0], nil
	}
	r, err := s.cl.CreateRun(s.ctx, client.CreateRunInput{Title: title, ProcedureID: proc, PartInventoryID: inv})
	if err != nil {
		return nil, fmt.Errorf("create run %q: %w", title, err)
	}
	s.note("run "+title, r.ID, true)
	return r, nil
}

// completeSteps walks the run's steps in order: start, fill required
// fields, complete. Steps already complete are left alone.
func (s *seeder) completeSteps(run *client.Run) error {
	steps := append([]client.RunStep(nil), run.Steps...)
	sort.Slice(steps, func(i, j int) bool { return steps[i].Position < steps[j].Position })
	done := 0
	for _, st := range steps {
		if st.Status == "COMPLETE" {
			continue
		}
		etag := st.Etag
		if st.Status != "IN_PROGRESS" {
			up, err := s.cl.UpdateRunStep(s.ctx, client.UpdateRunStepInput{ID: st.ID, Etag: etag, Status: "IN_PROGRESS"})
			if err != nil {
				return fmt.Errorf("start run step %d: %w", st.ID, err)
			}
			etag = up.Etag
		}
		for _, f := range st.Fields {
			if f.Value != nil {
				continue
			}
			if _, err := s.cl.UpdateRunStepFieldValue(s.ctx, f.ID, sampleValue(f.Type), f.Etag); err != nil {
				return fmt.Errorf("fill run step field %q: %w", f.Name, err)
			}
		}
		if _, err := s.cl.UpdateRunStep(s.ctx, client.UpdateRunStepInput{ID: st.ID, Etag: etag, Status: "COMPLETE"}); err != nil {
			return fmt.Errorf("complete run step %d: %w", st.ID, err)
		}
		done++
	}
	result := "found"
	if done > 0 {
		result = "completed"
	}
	s.rows = append(s.rows, seedRow{Chain: s.mark, Object: fmt.Sprintf("run steps (%d)", len(steps)), ID: run.ID, Result: result})
	return nil
}

// sampleValue is a valid value for a run step field of type t.
func sampleValue(t string) any {
	switch t {
	case "NUMBER":
		return 12.5
	case "BOOLEAN", "SIGNOFF":
		return true
	default:
		return "ok"
	}
}

func (s *seeder) buildRequirement(part, parentInv, mbomItem int64) (int64, error) {
	id, err := s.findOne("buildRequirements", "BuildRequirementsInputFilters", map[string]any{"partId": eq(part), "partInventoryId": eq(parentInv)})
	if err != nil || id != 0 {
		if id != 0 {
			s.note("build requirement", id, false)
		}
		return id, err
	}
	br, err := s.cl.CreateBuildRequirement(s.ctx, client.CreateBuildRequirementInput{PartID: part, PartInventoryID: parentInv, QuantityPerParentPartInventory: 1, OriginMbomItemID: mbomItem})
	if err != nil {
		return 0, fmt.Errorf("create build requirement: %w", err)
	}
	s.note("build requirement", br.ID, true)
	return br.ID, nil
}

func (s *seeder) installation(br, childInv int64) error {
	id, err := s.findOne("abomInstallations", "AbomInstallationsInputFilters", map[string]any{"buildRequirementId": eq(br), "partInventoryId": eq(childInv)})
	if err != nil {
		return err
	}
	if id != 0 {
		s.note("installation", id, false)
		return nil
	}
	inst, err := s.cl.CreateAbomInstallation(s.ctx, br, childInv, 1)
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	s.note("installation", inst.ID, true)
	return nil
}
