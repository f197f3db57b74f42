package postgres

import "testing"

// listed is what the test below needs of an entity, whatever its type.
type listed interface {
	name() string
	columnCount() int
	projected() []string
}

func (e *entity[T]) name() string        { return e.plural }
func (e *entity[T]) columnCount() int    { return len(e.proj.Columns()) }
func (e *entity[T]) projected() []string { return e.proj.Fields() }

// TestEveryColumnProjects: ListOptions.Fields can select every column of
// every entity by the field it fills (the id is always read), so that no
// column is read for a list that does not ask for it.
func TestEveryColumnProjects(t *testing.T) {
	t.Parallel()
	for _, e := range []listed{
		buildRequirements, abomInstallations, organizations, users, apiKeys, partInventories, issues, teams,
		locations, unitsOfMeasurement, mbomItems, mbomSubstitutes, parts, procedures, steps, stepFields,
		suppliers, purchaseOrders, purchaseOrderLines, runs, runSteps, runStepFields,
	} {
		if got, want := len(e.projected()), e.columnCount(); got != want {
			t.Errorf("%s: %d columns project by field (%v), want %d", e.name(), got, e.projected(), want)
		}
	}
}
