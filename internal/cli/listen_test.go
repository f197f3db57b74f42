package cli

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadEvents(t *testing.T) {
	t.Parallel()
	stream := "retry: 1000\n: sink of sandbox/x after delivery 0\n\n" +
		"id: 7\nevent: webhook\ndata: {\"a\":1}\n\n" +
		": keep-alive\n\n" +
		"id: 8\nevent: webhook\ndata: line1\ndata: line2\n\n" +
		"id: 9\nevent: webhook\ndata: {\"cut\":"
	var got []listenEvent
	err := readEvents(strings.NewReader(stream), func(ev listenEvent) error {
		got = append(got, ev)
		return nil
	})
	if !errors.Is(err, io.EOF) {
		t.Fatalf("end of stream: %v", err)
	}
	want := []listenEvent{
		{id: "7", event: "webhook", data: []byte(`{"a":1}`)},
		{id: "8", event: "webhook", data: []byte("line1\nline2")},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(listenEvent{})); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
}

func TestListenRefusesABadForwardURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"localhost:3000/hook", "ftp://x/", "http://"} {
		c := &ListenCmd{ForwardTo: u, IONFlags: IONFlags{BaseURL: "http://127.0.0.1:1", Token: "t"}}
		err := c.Run(&Globals{Ctx: t.Context(), Stdout: io.Discard, Stderr: io.Discard})
		if err == nil || !strings.Contains(err.Error(), "--forward-to") {
			t.Errorf("--forward-to %q: %v", u, err)
		}
	}
}
