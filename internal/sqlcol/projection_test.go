package sqlcol

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ionbox/ionbox/ion"
)

type widget struct {
	ion.Meta
	Name       string
	LocationID *ion.ID
	StartedAt  *time.Time
	Attributes []ion.Attribute
	Computed   string // no column fills it
}

const widgetColumns = MetaCols + ", t.name, t.location_id, t.started_at, t.attributes," +
	" (SELECT coalesce(json_agg(x ORDER BY x), '[]') FROM y WHERE y.z = t.id)"

func scanWidget(sc Scanner) (w widget, err error) {
	var unnamed string // a column that fills no field of the object
	err = sc.Scan(append(MetaDest(&w.Meta), &w.Name, &w.LocationID, Micros{Dst: &w.StartedAt},
		JSONList[ion.Attribute]{Dst: &w.Attributes}, &unnamed)...)
	return w, err
}

// row is a Scanner over fixed values, one per selected column.
type row []any

func (r row) Scan(dest ...any) error {
	for i, d := range dest {
		switch d := d.(type) {
		case *ion.ID:
			*d = r[i].(ion.ID)
		case *string:
			*d = r[i].(string)
		case **ion.ID:
			v := r[i].(ion.ID)
			*d = &v
		case interface{ Scan(any) error }:
			if err := d.Scan(r[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestProjection: Select reads the id, the asked fields and the columns
// that fill no field, in select-list order; the scanner puts each value in
// its field and leaves the others zero; a field that is no column (or nil
// fields) reads everything.
func TestProjection(t *testing.T) {
	t.Parallel()
	p, err := NewProjection(widgetColumns, scanWidget)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"attributes", "createdat", "etag", "id", "locationid", "name", "startedat", "updatedat"}
	if got := p.Fields(); !cmp.Equal(sortedCopy(got), want) {
		t.Errorf("Fields() = %v, want %v", sortedCopy(got), want)
	}
	subquery := "(SELECT coalesce(json_agg(x ORDER BY x), '[]') FROM y WHERE y.z = t.id)"
	for _, c := range []struct {
		name     string
		fields   []string
		wantList string
		wantCols []int
	}{
		{"nil reads all", nil, widgetColumns, nil},
		{"some, any spelling", []string{"location_id", "Name", "_etag", "ID"}, "t.id, t.etag, t.name, t.location_id, " + subquery, []int{0, 1, 4, 5, 8}},
		{"none is the id", []string{}, "t.id, " + subquery, []int{0, 8}},
		{"a computed field reads all", []string{"name", "computed"}, widgetColumns, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			list, cols := p.Select(c.fields)
			if list != c.wantList || !cmp.Equal(cols, c.wantCols) {
				t.Errorf("Select(%q) = %q, %v; want %q, %v", c.fields, list, cols, c.wantList, c.wantCols)
			}
		})
	}

	t.Run("scanner", func(t *testing.T) {
		t.Parallel()
		_, cols := p.Select([]string{"name", "locationId"})
		w, err := scanWidget(p.Scanner(row{ion.ID(7), "gizmo", ion.ID(3), "[1]"}, cols))
		if err != nil {
			t.Fatal(err)
		}
		loc := ion.ID(3)
		if diff := cmp.Diff(widget{Meta: ion.Meta{ID: 7}, Name: "gizmo", LocationID: &loc}, w); diff != "" {
			t.Errorf("projected scan (-want +got):\n%s", diff)
		}
	})
}

// TestProjectionDirect: plain columns scan straight into an object, as the
// scan function would put them; a JSON list or time column needs the scan
// function.
func TestProjectionDirect(t *testing.T) {
	t.Parallel()
	// The widget's last column fills no field: it is always read, and
	// needs the scan function.
	if _, cols := MustProjection(widgetColumns, scanWidget).Select([]string{"name"}); MustProjection(widgetColumns, scanWidget).Direct(cols) != nil {
		t.Error("a column that fills no field: a direct scan, want none")
	}
	scan := func(sc Scanner) (w widget, err error) {
		err = sc.Scan(append(MetaDest(&w.Meta), &w.Name, &w.LocationID, Micros{Dst: &w.StartedAt}, JSONList[ion.Attribute]{Dst: &w.Attributes})...)
		return w, err
	}
	p := MustProjection(MetaCols+", t.name, t.location_id, t.started_at, t.attributes", scan)
	_, cols := p.Select([]string{"name", "locationId", "_etag"})
	direct := p.Direct(cols)
	if direct == nil {
		t.Fatal("plain columns: no direct scan")
	}
	var got widget
	if err := direct(row{ion.ID(7), "E1", "gizmo", ion.ID(3)}, &got, make([]any, len(cols))); err != nil {
		t.Fatal(err)
	}
	want, err := scan(p.Scanner(row{ion.ID(7), "E1", "gizmo", ion.ID(3)}, cols))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" || got.Name != "gizmo" || got.Etag != "E1" {
		t.Errorf("direct scan (-scan function +direct):\n%s", diff)
	}
	for _, fields := range [][]string{nil, {"name", "startedAt"}, {"attributes"}} {
		_, cols := p.Select(fields)
		if p.Direct(cols) != nil {
			t.Errorf("fields %q: a direct scan, want none", fields)
		}
	}
}

// TestProjectionNeedsTheIDFirst: a select list that does not start with the
// id, or that does not match its scan function, is refused.
func TestProjectionNeedsTheIDFirst(t *testing.T) {
	t.Parallel()
	if _, err := NewProjection("t.name, t.id", func(sc Scanner) (w widget, err error) {
		return w, sc.Scan(&w.Name, &w.ID)
	}); err == nil {
		t.Error("id second: got no error")
	}
	if _, err := NewProjection("t.id, t.name", func(sc Scanner) (w widget, err error) {
		return w, sc.Scan(&w.ID)
	}); err == nil {
		t.Error("two columns, one destination: got no error")
	}
}

func TestSplitColumns(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"t.a", []string{"t.a"}},
		{"t.a, t.b,t.c", []string{"t.a", "t.b", "t.c"}},
		{"t.a, f(x, y), 'p,q', (SELECT g(1, 2) FROM z), t.b", []string{"t.a", "f(x, y)", "'p,q'", "(SELECT g(1, 2) FROM z)", "t.b"}},
	} {
		if got := splitColumns(c.in); !cmp.Equal(got, c.want) {
			t.Errorf("splitColumns(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
