package server

import (
	"bufio"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestListenForwardsTheSinkToALocalConsumer runs the real `ionbox listen`
// against a sandbox's sink and a real local consumer that accepts only
// requests whose signatures verify with the receiver's secret.
func TestListenForwardsTheSinkToALocalConsumer(t *testing.T) {
	t.Parallel()
	b := setupHooks(t, nil)
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	c := b.newCredential("Listener")
	sb := b.newSandbox(c.orgID, "listen-dev")
	sbx := b.at(sb.baseURL)
	tok := "Bearer " + sb.token
	// The receiver's own URL is never contacted (SINK); the consumer is
	// where `ionbox listen` forwards.
	consumer := newHookReceiver(t, "listen-secret", nil)
	rid := sbx.createReceiver(tok, "https://hooks.example.com/ion", "listen-secret", nil)
	sbx.subscribe(tok, rid, "PART", "CREATE")
	first := sbx.createPart(tok, "LISTEN-1")
	second := sbx.createPart(tok, "LISTEN-2")

	listen := func(ctx context.Context, args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, bin, append([]string{"listen", "--forward-to", consumer.srv.URL + "/hook"}, args...)...)
		cmd.Env = append(cmd.Environ(), "ION_BASE_URL="+sb.baseURL, "ION_CLIENT_ID="+sb.clientID, "ION_CLIENT_SECRET="+sb.secret, "ION_TOKEN=")
		return cmd
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := listen(ctx, "--replay", "--count", "2").Output()
	if err != nil {
		t.Fatalf("ionbox listen --replay: %v\n%s", err, out)
	}
	got := consumer.waitDeliveries(2)
	for i, want := range []int64{first, second} {
		d := got[i]
		if !d.verified || d.payload["id"] != float64(want) || d.header.Get("X-Test-Run") != "1" || d.header.Get("ION-Environment") != "sandbox/listen-dev" {
			t.Fatalf("forwarded delivery %d: verified=%v headers=%v body=%s", i, d.verified, d.header, d.body)
		}
	}
	if strings.Count(string(out), "200 OK") != 2 {
		t.Fatalf("listen printed:\n%s", out)
	}

	// Without --replay it forwards only what happens after it connected.
	cmd := listen(ctx, "--count", "1")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() && !strings.Contains(sc.Text(), "listening to") {
	}
	third := sbx.createPart(tok, "LISTEN-3")
	go func() {
		for sc.Scan() {
		}
	}()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ionbox listen: %v", err)
	}
	got = consumer.waitDeliveries(3)
	if len(got) != 3 || got[2].payload["id"] != float64(third) || !got[2].verified {
		t.Fatalf("after reconnecting: %d deliveries, last %s", len(got), got[len(got)-1].body)
	}
}
