package seed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// Version is the version of the seed data. Change it whenever Generate
// would write different rows, so that templates built by an older version
// are not used (see TemplateName).
const Version = 1

// Sizes of the demo factory.
const (
	SizeSmall = "small"
	SizeLarge = "large"
)

// Sizes lists the sizes, the default first.
var Sizes = []string{SizeSmall, SizeLarge}

// ParseSize checks a requested size; "" is SizeSmall. VALIDATION_ERROR
// naming size for anything else.
func ParseSize(size string) (string, error) {
	switch s := strings.ToLower(strings.TrimSpace(size)); s {
	case "":
		return SizeSmall, nil
	case SizeSmall, SizeLarge:
		return s, nil
	}
	return "", ion.Invalid("size", "%q is not a seed size; use %q (the default, for onboarding) or %q (at least 1,000,000 rows, for performance work).", size, SizeSmall, SizeLarge)
}

// TemplateName is the name of the saved template that holds the seed data
// of this Version in size, e.g. "seed-v1-small".
func TemplateName(size string) string { return fmt.Sprintf("seed-v%d-%s", Version, size) }

// plan is how much of everything a size has.
type plan struct {
	tops, subsPerTop, compsPerSub int // mBOM: top assemblies → sub-assemblies → components
	components, raws, tools       int // part pools (components are shared between sub-assemblies)
	builtPerTop                   int // serial units of each top assembly, each with a build run and as-built tree
	stockPerComponent             int // stock inventory rows per component
	steps, fieldsPerStep          int // of each procedure
	extraRuns                     int // test, inspection and maintenance runs besides the build runs
	progressEvery                 int // of the extra runs, how many in one are worked on (the rest stay TODO)
	issues, suppliers, orders     int
	linesPerOrder                 int
}

var plans = map[string]plan{
	SizeSmall: {tops: 2, subsPerTop: 3, compsPerSub: 4, components: 16, raws: 4, tools: 3, builtPerTop: 4,
		stockPerComponent: 3, steps: 6, fieldsPerStep: 3, extraRuns: 21, progressEvery: 1, issues: 12, suppliers: 5, orders: 12, linesPerOrder: 3},
	// Most of large's rows are run steps and their fields: long
	// procedures make them in few, big transactions (a run copies its
	// procedure), which keeps building it to minutes.
	SizeLarge: {tops: 12, subsPerTop: 6, compsPerSub: 8, components: 1200, raws: 150, tools: 60, builtPerTop: 10,
		stockPerComponent: 12, steps: 24, fieldsPerStep: 5, extraRuns: 6200, progressEvery: 40, issues: 3000, suppliers: 80, orders: 1500, linesPerOrder: 4},
}

// Progress receives how many of the planned steps are done; total does not
// change during one Generate.
type Progress func(done, total int)

// Generate writes the demo factory of size into t, which should be empty
// (ids then start at 1 and are the same every time). It reports progress,
// when not nil, every so often. It stops at the first error, leaving what
// it wrote: the caller builds into a scratch tenant and discards it.
func Generate(ctx context.Context, t ion.TenantStore, size string, progress Progress) error {
	size, err := ParseSize(size)
	if err != nil {
		return err
	}
	p := plans[size]
	g := &gen{ctx: ctx, s: t, p: p, rng: rand.New(rand.NewPCG(Version, uint64(len(size)))), progress: progress,
		bom: map[ion.ID][]ion.MBomItem{}, buildProc: map[ion.ID]ion.Procedure{}}
	// One unit of progress per top-level thing made, roughly in
	// proportion to the calls it takes.
	subs := p.tops * p.subsPerTop
	g.total = 4 + 6 + p.suppliers + p.components + p.raws + p.tools + p.tops + subs +
		p.components*p.stockPerComponent + (p.tops+subs+3)*2 + p.tops*p.builtPerTop*(1+p.subsPerTop) +
		p.extraRuns + p.orders + p.issues
	for _, step := range []func() error{g.reference, g.partsAndBoms, g.stock, g.procedures, g.builds, g.extraRuns, g.purchasing, g.issues} {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := step(); err != nil {
			return fmt.Errorf("seed: %s data: %w", size, err)
		}
	}
	g.report(true)
	return nil
}

// gen is one Generate and what it has made so far.
type gen struct {
	ctx      context.Context
	s        ion.TenantStore
	p        plan
	rng      *rand.Rand
	progress Progress

	done, total, lastReport int

	units     []ion.UnitOfMeasurement
	locs      []ion.Location // the last one is not available (quarantine)
	suppliers []ion.Supplier
	tops      []ion.Part
	subs      []ion.Part
	comps     []ion.Part
	raws      []ion.Part
	tools     []ion.Part
	bom       map[ion.ID][]ion.MBomItem // parent part → its items
	subsOf    map[ion.ID]ion.ID         // mBOM item → its substitute part
	buildProc map[ion.ID]ion.Procedure  // part → its BUILD procedure
	procs     map[string][]ion.Procedure
	onHand    []ion.PartInventory
	runs      []ion.Run
	serial    int // last serial number handed out
}

func (g *gen) step(n int) {
	g.done += n
	g.report(false)
}

func (g *gen) report(final bool) {
	if g.progress == nil {
		return
	}
	if final {
		g.done = g.total
	}
	if final || g.done-g.lastReport >= max(1, g.total/200) {
		g.lastReport = g.done
		g.progress(min(g.done, g.total), g.total)
	}
}

func ptr[T any](v T) *T { return &v }

func (g *gen) pick(n int) int { return g.rng.IntN(n) }

var unitTypes = []string{"each", "kg", "m", "L"}

var locationNames = []string{"Receiving Dock", "Stores A", "Stores B", "Assembly Bay 1", "Test Cell 2", "Quarantine Cage"}

var supplierNames = []string{"Apex Fasteners", "Borealis Composites", "Cobalt Machining", "Delta Electronics", "Ember Alloys",
	"Fjord Valves", "Granite Castings", "Helix Harness Co.", "Iridium Optics", "Juniper Seals"}

// reference makes units, locations and suppliers.
func (g *gen) reference() error {
	for _, typ := range unitTypes {
		u, err := g.s.CreateUnitOfMeasurement(g.ctx, ion.UnitOfMeasurement{Type: typ})
		if err != nil {
			return fmt.Errorf("unit %s: %w", typ, err)
		}
		g.units = append(g.units, u)
		g.step(1)
	}
	for i, name := range locationNames {
		l, err := g.s.CreateLocation(g.ctx, ion.Location{Name: name, Available: i < len(locationNames)-1})
		if err != nil {
			return fmt.Errorf("location %s: %w", name, err)
		}
		g.locs = append(g.locs, l)
		g.step(1)
	}
	for i := range g.p.suppliers {
		name := supplierNames[i%len(supplierNames)]
		if i >= len(supplierNames) {
			name = fmt.Sprintf("%s %d", name, i/len(supplierNames)+1)
		}
		sp, err := g.s.CreateSupplier(g.ctx, ion.Supplier{Name: name, Attributes: []ion.Attribute{
			{Key: "Payment terms", Type: "text", Value: []string{"Net 30", "Net 45", "Net 60"}[i%3]},
		}})
		if err != nil {
			return fmt.Errorf("supplier %s: %w", name, err)
		}
		g.suppliers = append(g.suppliers, sp)
		g.step(1)
	}
	return nil
}

var (
	topNames  = []string{"Satellite Bus", "Thruster Module", "Avionics Stack", "Power Unit", "Reaction Wheel Assembly", "Star Tracker"}
	subNames  = []string{"Frame", "Harness", "Valve Block", "Flight Computer", "Battery Pack", "Sensor Head", "Gimbal", "Radiator Panel"}
	compNames = []string{"Bracket", "Fastener Kit", "O-Ring", "Connector", "PCB", "Bearing", "Heat Sink", "Cable", "Gasket", "Shim", "Sensor", "Spring"}
	rawNames  = []string{"Aluminium 6061 Bar", "Titanium Sheet", "Epoxy Resin", "Copper Wire", "Solder Paste", "PTFE Tape"}
	toolNames = []string{"Torque Wrench", "Crimp Tool", "Leak Tester", "Thermal Chamber Fixture"}
)

func nameOf(names []string, i int) string {
	if i < len(names) {
		return names[i]
	}
	return fmt.Sprintf("%s %d", names[i%len(names)], i/len(names)+1)
}

// trackings of components in turn: a third serial, a third lot, a third
// untracked.
var trackings = []*string{ptr(ion.TrackingSerial), ptr(ion.TrackingLot), nil}

// partsAndBoms makes the parts and the mBOMs: top assemblies made of
// sub-assemblies, made of components (with a substitute for some items),
// some components made of raw materials; tools beside them; a second
// revision of one part and an archived part.
func (g *gen) partsAndBoms() error {
	mk := func(p ion.Part) (ion.Part, error) {
		out, err := g.s.CreatePart(g.ctx, p)
		if err != nil {
			return out, fmt.Errorf("part %s: %w", p.PartNumber, err)
		}
		g.step(1)
		return out, nil
	}
	for i := range g.p.raws {
		p, err := mk(ion.Part{PartNumber: fmt.Sprintf("RAW-%04d", 4000+i), Description: nameOf(rawNames, i), TrackingType: ptr(ion.TrackingLot),
			SourcingStrategy: ptr("BUY"), Cost: ptr(float64(5 + i%40)), LeadTime: ptr(int64(10 + i%20))})
		if err != nil {
			return err
		}
		g.raws = append(g.raws, p)
	}
	for i := range g.p.components {
		p, err := mk(ion.Part{PartNumber: fmt.Sprintf("CMP-%04d", 3000+i), Description: nameOf(compNames, i), TrackingType: trackings[i%3],
			SourcingStrategy: ptr([]string{"BUY", "MAKE", "DUAL_SOURCE"}[i%3]), Cost: ptr(float64(20 + (i*37)%480)), LeadTime: ptr(int64(5 + i%30)),
			Attributes: []ion.Attribute{{Key: "Material", Type: "text", Value: []string{"Aluminium", "Steel", "Titanium", "Polymer"}[i%4]}}})
		if err != nil {
			return err
		}
		g.comps = append(g.comps, p)
	}
	for i := range g.p.tools {
		p, err := mk(ion.Part{PartNumber: fmt.Sprintf("TL-%04d", 5000+i), Description: nameOf(toolNames, i), PartType: ion.PartTypeTool,
			TrackingType: ptr(ion.TrackingSerial), SourcingStrategy: ptr("BUY"), Cost: ptr(float64(300 + i*10))})
		if err != nil {
			return err
		}
		g.tools = append(g.tools, p)
	}
	for i := range g.p.tops * g.p.subsPerTop {
		p, err := mk(ion.Part{PartNumber: fmt.Sprintf("SUB-%04d", 2000+i), Description: nameOf(subNames, i), TrackingType: ptr(ion.TrackingSerial),
			SourcingStrategy: ptr("MAKE"), Cost: ptr(float64(1500 + i*25)), LeadTime: ptr(int64(20))})
		if err != nil {
			return err
		}
		g.subs = append(g.subs, p)
	}
	for i := range g.p.tops {
		p, err := mk(ion.Part{PartNumber: fmt.Sprintf("ASM-%04d", 1000+i), Description: nameOf(topNames, i), TrackingType: ptr(ion.TrackingSerial),
			SourcingStrategy: ptr("MAKE"), Cost: ptr(float64(25000 + i*1000)), LeadTime: ptr(int64(45))})
		if err != nil {
			return err
		}
		g.tops = append(g.tops, p)
	}

	item := func(parent, child ion.ID, qty float64) (ion.MBomItem, error) {
		m, err := g.s.CreateMBomItem(g.ctx, ion.MBomItem{ParentID: parent, PartID: child, Quantity: qty})
		if err != nil {
			return m, fmt.Errorf("mBOM item %d in %d: %w", child, parent, err)
		}
		g.bom[parent] = append(g.bom[parent], m)
		return m, nil
	}
	g.subsOf = map[ion.ID]ion.ID{}
	for t, top := range g.tops {
		for j := range g.p.subsPerTop {
			if _, err := item(top.ID, g.subs[t*g.p.subsPerTop+j].ID, 1); err != nil {
				return err
			}
		}
	}
	for s, sub := range g.subs {
		for j := range g.p.compsPerSub {
			c := (s*g.p.compsPerSub + j*7) % len(g.comps)
			if j > 0 && c == (s*g.p.compsPerSub)%len(g.comps) {
				continue // the same component twice in one mBOM
			}
			comp := g.comps[c]
			qty := 1.0
			if comp.TrackingType == nil || *comp.TrackingType == ion.TrackingLot {
				qty = float64(2 + (s+j)%5)
			} else if j%2 == 0 {
				qty = 2
			}
			m, err := item(sub.ID, comp.ID, qty)
			if err != nil {
				return err
			}
			// An alternate of the same tracking for one item in four.
			if j%4 == 1 {
				alt := g.comps[(c+3)%len(g.comps)]
				if alt.ID != comp.ID {
					if _, err := g.s.CreateMBomSubstitute(g.ctx, ion.MBomSubstitute{MBomItemID: m.ID, PartID: alt.ID}); err != nil {
						return fmt.Errorf("substitute for mBOM item %d: %w", m.ID, err)
					}
					g.subsOf[m.ID] = alt.ID
				}
			}
		}
		g.step(1)
	}
	// MAKE components are made of raw material.
	for i, comp := range g.comps {
		if i%3 == 1 && len(g.raws) > 0 {
			if _, err := item(comp.ID, g.raws[i%len(g.raws)].ID, float64(1+i%3)); err != nil {
				return err
			}
		}
	}
	// History: a second revision of the first component, and an archived
	// part that nothing uses any more.
	if _, err := g.s.CreatePartRevision(g.ctx, g.comps[0].ID, ""); err != nil {
		return fmt.Errorf("revision of %s: %w", g.comps[0].PartNumber, err)
	}
	old, err := mk(ion.Part{PartNumber: "CMP-0999", Description: "Legacy bracket (superseded)", SourcingStrategy: ptr("BUY")})
	if err != nil {
		return err
	}
	if _, err := g.s.UpdatePart(g.ctx, ion.PartPatch{ID: old.ID, Etag: old.Etag, Status: ptr(ion.PartArchived)}); err != nil {
		return fmt.Errorf("archiving %s: %w", old.PartNumber, err)
	}
	return nil
}

// nextSerial hands out serial numbers, unique across parts.
func (g *gen) nextSerial(prefix string) *string {
	g.serial++
	return ptr(fmt.Sprintf("%s-%06d", prefix, g.serial))
}

// inventory makes one inventory row of part, tracked as the part is.
func (g *gen) inventory(part ion.Part, qty float64, loc *ion.ID, lot int) (ion.PartInventory, error) {
	inv := ion.PartInventory{PartID: part.ID, Quantity: qty, LocationID: loc, UnitOfMeasureID: &g.units[0].ID, Cost: part.Cost}
	if strings.HasPrefix(part.PartNumber, "RAW-") {
		// Raw material comes by weight, length or volume, not in pieces.
		inv.UnitOfMeasureID = &g.units[1+int(part.ID)%3].ID
	}
	switch {
	case part.TrackingType == nil:
	case *part.TrackingType == ion.TrackingSerial:
		inv.SerialNumber = g.nextSerial("SN")
		inv.Quantity = min(qty, 1)
	case *part.TrackingType == ion.TrackingLot:
		inv.LotNumber = ptr(fmt.Sprintf("LOT-%s-%03d", part.PartNumber, lot))
	}
	out, err := g.s.CreatePartInventory(g.ctx, inv)
	if err != nil {
		return out, fmt.Errorf("inventory of %s: %w", part.PartNumber, err)
	}
	return out, nil
}

// stock makes warehouse stock of components, raw material and tools:
// mostly available, some in quarantine (UNAVAILABLE), some used up
// (quantity 0, UNAVAILABLE).
func (g *gen) stock() error {
	quarantine := len(g.locs) - 1
	all := append(append(append([]ion.Part{}, g.comps...), g.raws...), g.tools...)
	for i, part := range all {
		n := g.p.stockPerComponent
		if i >= len(g.comps) {
			n = max(1, n/3)
		}
		for k := range n {
			loc := 1 + (i+k)%(len(g.locs)-2) // the stores, not the dock or quarantine
			qty := float64(10 + g.pick(90))
			switch {
			case (i+k)%7 == 3:
				loc = quarantine
			case (i+k)%9 == 4:
				qty = 0
			}
			inv, err := g.inventory(part, qty, &g.locs[loc].ID, k)
			if err != nil {
				return err
			}
			g.onHand = append(g.onHand, inv)
		}
		if i < len(g.comps) {
			g.step(n)
		}
	}
	return nil
}

var fieldTypes = []string{ion.FieldString, ion.FieldNumber, ion.FieldBoolean, ion.FieldSelect, ion.FieldMultiselect,
	ion.FieldDatetime, ion.FieldSignoff, ion.FieldFileAttachment}

var stepVerbs = []string{"Prepare", "Inspect", "Install", "Torque", "Wire", "Verify", "Clean", "Measure", "Seal", "Label", "Photograph", "Sign off"}

// procedure makes a DRAFT procedure with g.p.steps steps (a chain, each
// step waiting for the one before, the third also for the first; the
// first with two sub-steps), fields of every type in turn, and moves it to
// status.
func (g *gen) procedure(title, typ, status string, n int) (ion.Procedure, error) {
	p, err := g.s.CreateProcedure(g.ctx, ion.Procedure{Title: title, Type: typ, Description: "Standard work for " + title + ".",
		ExportControlled: n%5 == 0})
	if err != nil {
		return p, fmt.Errorf("procedure %q: %w", title, err)
	}
	var prev []ion.Step
	for k := range g.p.steps {
		st := ion.Step{ProcedureID: p.ID, Position: int64(k + 1), Title: fmt.Sprintf("%s %s", stepVerbs[(k+n)%len(stepVerbs)], strings.ToLower(title)),
			Content: fmt.Sprintf("Step %d of %s. Follow the work instruction and record the results below.", k+1, title), Type: "DEFAULT"}
		if k > 0 {
			st.UpstreamStepIDs = []ion.ID{prev[k-1].ID}
			if k == 2 {
				st.UpstreamStepIDs = append(st.UpstreamStepIDs, prev[0].ID)
			}
		}
		step, err := g.s.CreateStep(g.ctx, st)
		if err != nil {
			return p, fmt.Errorf("step %d of %q: %w", k+1, title, err)
		}
		prev = append(prev, step)
		for f := range g.p.fieldsPerStep {
			typ := fieldTypes[(k*g.p.fieldsPerStep+f)%len(fieldTypes)]
			field := ion.StepField{StepID: step.ID, Name: fieldName(typ, k, f), Type: typ, Required: f == 0}
			switch typ {
			case ion.FieldNumber:
				field.Unit = ptr([]string{"N·m", "mm", "°C", "kPa"}[k%4])
			case ion.FieldSelect, ion.FieldMultiselect:
				field.Options = []string{"Pass", "Fail", "N/A"}
			}
			if _, err := g.s.CreateStepField(g.ctx, field); err != nil {
				return p, fmt.Errorf("field of step %d of %q: %w", k+1, title, err)
			}
		}
	}
	for c := range 2 {
		if _, err := g.s.CreateStep(g.ctx, ion.Step{ProcedureID: p.ID, ParentID: &prev[0].ID, Position: int64(c + 1),
			Title: fmt.Sprintf("Check %c", 'a'+c), Content: "Sub-step of the first step.", Type: "DEFAULT"}); err != nil {
			return p, fmt.Errorf("sub-step of %q: %w", title, err)
		}
	}
	if status != ion.ProcDraft {
		// Adding steps may have changed the procedure's etag.
		cur, err := g.s.Procedure(g.ctx, p.ID)
		if err != nil {
			return p, fmt.Errorf("procedure %q: %w", title, err)
		}
		if p, err = g.s.UpdateProcedure(g.ctx, ion.ProcedurePatch{ID: p.ID, Etag: cur.Etag, Status: &status}); err != nil {
			return p, fmt.Errorf("procedure %q to %s: %w", title, status, err)
		}
	}
	g.step(2)
	return p, nil
}

func fieldName(typ string, k, f int) string {
	switch typ {
	case ion.FieldString:
		return fmt.Sprintf("Notes %d", k+1)
	case ion.FieldNumber:
		return []string{"Torque", "Gap", "Temperature", "Pressure"}[k%4]
	case ion.FieldBoolean:
		return "Visual check OK"
	case ion.FieldSelect:
		return "Result"
	case ion.FieldMultiselect:
		return "Checks done"
	case ion.FieldDatetime:
		return "Completed at"
	case ion.FieldSignoff:
		return "Inspector sign-off"
	case ion.FieldFileAttachment:
		return "Photo"
	}
	return fmt.Sprintf("Field %d", f+1)
}

// procedures makes a BUILD procedure for every assembly and
// sub-assembly, TEST, INSPECTION and MAINTENANCE procedures, one still in
// review and one draft.
func (g *gen) procedures() error {
	g.procs = map[string][]ion.Procedure{}
	n := 0
	for _, part := range append(append([]ion.Part{}, g.tops...), g.subs...) {
		p, err := g.procedure("Assemble "+part.Description, ion.ProcBuild, ion.ProcReleased, n)
		if err != nil {
			return err
		}
		g.buildProc[part.ID] = p
		g.procs[ion.ProcBuild] = append(g.procs[ion.ProcBuild], p)
		n++
	}
	for _, x := range []struct{ title, typ, status string }{
		{"Acceptance Test", ion.ProcTest, ion.ProcReleased},
		{"Receiving Inspection", ion.ProcInspection, ion.ProcReleased},
		{"Calibrate Tooling", ion.ProcMaintenance, ion.ProcReleased},
		{"Thermal Vacuum Test", ion.ProcTest, ion.ProcInReview},
		{"Final Inspection (rev. 2)", ion.ProcInspection, ion.ProcDraft},
	} {
		p, err := g.procedure(x.title, x.typ, x.status, n)
		if err != nil {
			return err
		}
		if x.status == ion.ProcReleased {
			g.procs[x.typ] = append(g.procs[x.typ], p)
		}
		n++
	}
	return nil
}

// workRun takes run r to status: steps completed in order (with field
// values) up to the step that gets the status; COMPLETE completes all;
// CANCELED cancels it; TODO leaves it.
func (g *gen) workRun(r ion.Run, status string) (ion.Run, error) {
	switch status {
	case ion.StatusTodo:
		return r, nil
	case ion.StatusCanceled:
		r, err := g.s.CancelRun(g.ctx, r.ID, r.Etag)
		if err != nil {
			return r, fmt.Errorf("cancel run %d: %w", r.ID, err)
		}
		return r, nil
	}
	steps, err := g.s.RunSteps(g.ctx, ion.ListOptions{Filters: []ion.Filter{{Field: "runId", Op: ion.OpEq, Value: r.ID}}, Limit: 1000})
	if err != nil {
		return r, fmt.Errorf("steps of run %d: %w", r.ID, err)
	}
	// Top-level steps in order, then sub-steps; the run's first step is
	// complete only after its sub-steps.
	var top, sub []ion.RunStep
	for _, st := range steps.Items {
		if st.ParentID == nil {
			top = append(top, st)
		} else {
			sub = append(sub, st)
		}
	}
	stop := len(top) // the index of the step that gets status
	if status != ion.StatusComplete {
		stop = 1 + int(r.ID)%max(1, len(top)-1)
	}
	order := append(append([]ion.RunStep{}, sub...), top...)
	for i, st := range order {
		topIndex := i - len(sub)
		to := ion.StatusComplete
		if topIndex == stop {
			to = status
		} else if topIndex > stop {
			break
		}
		if to == ion.StatusComplete || to == ion.StatusInProgress || to == ion.StatusFailed {
			if err := g.fillFields(st.ID); err != nil {
				return r, err
			}
		}
		if _, err := g.s.UpdateRunStep(g.ctx, ion.RunStepPatch{ID: st.ID, Etag: st.Etag, Status: &to}); err != nil {
			return r, fmt.Errorf("step %d of run %d to %s: %w", st.ID, r.ID, to, err)
		}
	}
	return g.s.Run(g.ctx, r.ID)
}

// fillFields records a value in each field of run step id that has a type
// a value can be made for without a date (DATETIME fields stay empty, so
// that no recorded value goes stale).
func (g *gen) fillFields(stepID ion.ID) error {
	fields, err := g.s.RunStepFields(g.ctx, ion.ListOptions{Filters: []ion.Filter{{Field: "runStepId", Op: ion.OpEq, Value: stepID}}, Limit: 100})
	if err != nil {
		return fmt.Errorf("fields of run step %d: %w", stepID, err)
	}
	for _, f := range fields.Items {
		var v string
		switch f.Type {
		case ion.FieldString:
			v = `"Within limits; no findings."`
		case ion.FieldNumber:
			v = fmt.Sprintf("%.1f", 10+float64(g.pick(400))/10)
		case ion.FieldBoolean:
			v = "true"
		case ion.FieldSelect:
			v = `"Pass"`
		case ion.FieldMultiselect:
			v = `["Pass","N/A"]`
		case ion.FieldSignoff:
			v = `"QA Inspector"`
		case ion.FieldFileAttachment:
			v = `"photo-step.jpg"`
		default:
			continue
		}
		if _, err := g.s.UpdateRunStepFieldValue(g.ctx, f.ID, f.Etag, &v); err != nil {
			return fmt.Errorf("value of run step field %d: %w", f.ID, err)
		}
	}
	return nil
}

// buildStatuses is what the build of the k-th unit of an assembly has come
// to: the first is finished, the second half-way, the third not started,
// and so on.
var buildStatuses = []string{ion.StatusComplete, ion.StatusInProgress, ion.StatusTodo, ion.StatusComplete, ion.StatusHold}

// builds makes the as-built trees: serial units of every top assembly,
// each with a BUILD run, build requirements from its mBOM and, as far as
// the build has come, sub-assembly units installed, themselves built from
// installed components (or their substitutes).
func (g *gen) builds() error {
	for _, top := range g.tops {
		for k := range g.p.builtPerTop {
			status := buildStatuses[k%len(buildStatuses)]
			if _, err := g.buildUnit(top, status); err != nil {
				return err
			}
			g.step(1)
		}
	}
	return nil
}

// buildUnit makes a unit of part with its build run taken to status and
// its requirements filled as far as that status says: all when COMPLETE,
// half when working, none when TODO.
func (g *gen) buildUnit(part ion.Part, status string) (ion.PartInventory, error) {
	unit, err := g.inventory(part, 1, &g.locs[3].ID, 0)
	if err != nil {
		return unit, err
	}
	proc := g.buildProc[part.ID]
	run, err := g.s.CreateRun(g.ctx, ion.Run{ProcedureID: proc.ID, PartInventoryID: &unit.ID, Title: "Build " + part.Description + " " + *unit.SerialNumber})
	if err != nil {
		return unit, fmt.Errorf("build run of %s: %w", *unit.SerialNumber, err)
	}
	items := g.bom[part.ID]
	fill := len(items)
	switch status {
	case ion.StatusTodo:
		fill = 0
	case ion.StatusComplete:
	default:
		fill = len(items) / 2
	}
	for i, it := range items {
		req, err := g.s.CreateBuildRequirement(g.ctx, ion.BuildRequirement{PartInventoryID: unit.ID, OriginMBomItemID: &it.ID,
			QuantityPerParentPartInventory: it.Quantity})
		if err != nil {
			return unit, fmt.Errorf("build requirement of %s: %w", *unit.SerialNumber, err)
		}
		if i >= fill {
			continue
		}
		if err := g.install(req, it, i); err != nil {
			return unit, fmt.Errorf("installing into %s: %w", *unit.SerialNumber, err)
		}
	}
	if _, err := g.workRun(run, status); err != nil {
		return unit, err
	}
	g.runs = append(g.runs, run)
	return unit, nil
}

// install fills requirement req (from mBOM item it) with new units of its
// part: sub-assemblies are built (completely) first; components are taken
// from receiving as fresh units or split lots, one item in four from its
// substitute.
func (g *gen) install(req ion.BuildRequirement, it ion.MBomItem, i int) error {
	part, err := g.s.Part(g.ctx, it.PartID)
	if err != nil {
		return err
	}
	if alt, ok := g.subsOf[it.ID]; ok && i%2 == 1 {
		if part, err = g.s.Part(g.ctx, alt); err != nil {
			return err
		}
	}
	if len(g.bom[part.ID]) > 0 && strings.HasPrefix(part.PartNumber, "SUB-") {
		for range int(it.Quantity) {
			child, err := g.buildUnit(part, ion.StatusComplete)
			if err != nil {
				return err
			}
			if _, err := g.s.CreateAbomInstallation(g.ctx, ion.AbomInstallation{BuildRequirementID: req.ID, PartInventoryID: child.ID, Quantity: 1}); err != nil {
				return err
			}
			g.step(1)
		}
		return nil
	}
	pieces, each := 1, it.Quantity
	if part.TrackingType != nil && *part.TrackingType == ion.TrackingSerial {
		pieces, each = int(it.Quantity), 1
	}
	for range pieces {
		child, err := g.inventory(part, each, &g.locs[0].ID, int(req.ID))
		if err != nil {
			return err
		}
		if _, err := g.s.CreateAbomInstallation(g.ctx, ion.AbomInstallation{BuildRequirementID: req.ID, PartInventoryID: child.ID, Quantity: each}); err != nil {
			return err
		}
	}
	return nil
}

// extraStatuses are the statuses of the test, inspection and maintenance
// runs in turn: every run status, and more of the common ones.
var extraStatuses = []string{ion.StatusComplete, ion.StatusInProgress, ion.StatusTodo, ion.StatusHold, ion.StatusRedline,
	ion.StatusFailed, ion.StatusCanceled, ion.StatusComplete, ion.StatusTodo, ion.StatusComplete}

// extraRuns makes test, inspection and maintenance runs, some against
// stock units (which are WIP while such a run is open), one in seven
// worked to its status, and archives some finished ones.
func (g *gen) extraRuns() error {
	kinds := []string{ion.ProcTest, ion.ProcInspection, ion.ProcMaintenance}
	for i := range g.p.extraRuns {
		proc := g.procs[kinds[i%3]][0]
		r := ion.Run{ProcedureID: proc.ID, Title: fmt.Sprintf("%s #%d", proc.Title, i+1)}
		if i%4 == 0 && len(g.onHand) > 0 {
			inv := g.onHand[(i/4*7)%len(g.onHand)]
			if inv.Quantity > 0 {
				r.PartInventoryID = &inv.ID
			}
		}
		run, err := g.s.CreateRun(g.ctx, r)
		if err != nil {
			return fmt.Errorf("run %q: %w", r.Title, err)
		}
		status := ion.StatusTodo
		if i%g.p.progressEvery == 0 || i < len(extraStatuses) {
			status = extraStatuses[(i/g.p.progressEvery)%len(extraStatuses)]
			if i < len(extraStatuses) {
				status = extraStatuses[i]
			}
		}
		if run, err = g.workRun(run, status); err != nil {
			return err
		}
		if status == ion.StatusComplete && i%3 == 0 {
			if run, err = g.s.ArchiveRun(g.ctx, run.ID, run.Etag); err != nil {
				return fmt.Errorf("archive run %d: %w", run.ID, err)
			}
		}
		g.runs = append(g.runs, run)
		g.step(1)
	}
	return nil
}

var orderStatuses = []string{ion.POOrdered, ion.POApproved, ion.PODraft, ion.POReceived, ion.POClosed, ion.POCanceled}

// purchasing makes purchase orders in every status with lines for bought
// components and raw material: open orders' inventory is ON_ORDER,
// received orders' available.
func (g *gen) purchasing() error {
	var bought []ion.Part
	for _, p := range append(append([]ion.Part{}, g.comps...), g.raws...) {
		if p.SourcingStrategy != nil && *p.SourcingStrategy != "MAKE" {
			bought = append(bought, p)
		}
	}
	for i := range g.p.orders {
		status := orderStatuses[i%len(orderStatuses)]
		sp := g.suppliers[i%len(g.suppliers)]
		po, err := g.s.CreatePurchaseOrder(g.ctx, ion.PurchaseOrder{Status: status, SupplierID: &sp.ID,
			Attributes: []ion.Attribute{{Key: "Buyer", Type: "text", Value: []string{"Purchasing", "Production control"}[i%2]}}})
		if err != nil {
			return fmt.Errorf("purchase order %d: %w", i+1, err)
		}
		for l := range g.p.linesPerOrder {
			part := bought[(i*g.p.linesPerOrder+l)%len(bought)]
			qty := float64(1 + (i+l)%3)
			if part.TrackingType == nil || *part.TrackingType != ion.TrackingSerial {
				qty = float64(10 * (1 + (i+l)%10))
			}
			line := ion.PurchaseOrderLine{PurchaseOrderID: po.ID, PartID: part.ID, Quantity: qty, Status: status, Description: part.Description + " for stock"}
			if status == ion.PODraft || status == ion.POOrdered || status == ion.POApproved {
				// Open lines are needed soon; a template's load moves the
				// date to weeks after the sandbox is provisioned.
				line.NeedDate = ptr(time.Now().UTC().AddDate(0, 0, 14).Truncate(time.Hour))
			}
			if _, err := g.s.CreatePurchaseOrderLine(g.ctx, line); err != nil {
				return fmt.Errorf("line %d of purchase order %d: %w", l+1, po.ID, err)
			}
		}
		g.step(1)
	}
	return nil
}

var (
	issueStatuses = []string{ion.IssuePending, ion.IssueInProgress, ion.IssueInReview, ion.IssueResolved}
	issueTitles   = []string{"Torque out of spec", "Scratch on housing", "Connector pin bent", "Wrong revision kitted", "Leak at fitting",
		"Missing certificate of conformance", "Label illegible", "Thermal reading high"}
)

// issues makes nonconformances in every status, against runs, their
// steps and units.
func (g *gen) issues() error {
	for i := range g.p.issues {
		run := g.runs[(i*5)%len(g.runs)]
		is := ion.Issue{Title: issueTitles[i%len(issueTitles)], Status: issueStatuses[i%len(issueStatuses)], RunID: &run.ID,
			CauseCondition:    ptr("Observed during " + strings.ToLower(run.Title) + "."),
			ExpectedCondition: ptr("Per drawing and work instruction."),
		}
		if is.Status == ion.IssueResolved || is.Status == ion.IssueInReview {
			is.Disposition = ptr([]string{"Use as is", "Rework", "Return to vendor", "Scrap"}[i%4])
		}
		if run.PartInventoryID != nil {
			is.PartInventoryID = run.PartInventoryID
		}
		if i%2 == 0 {
			steps, err := g.s.RunSteps(g.ctx, ion.ListOptions{Filters: []ion.Filter{{Field: "runId", Op: ion.OpEq, Value: run.ID}}, Limit: 1})
			if err != nil {
				return err
			}
			if len(steps.Items) > 0 {
				is.RunStepID = &steps.Items[0].ID
			}
		}
		if _, err := g.s.CreateIssue(g.ctx, is); err != nil {
			return fmt.Errorf("issue %q: %w", is.Title, err)
		}
		g.step(1)
	}
	return nil
}
