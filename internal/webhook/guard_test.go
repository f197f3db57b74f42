package webhook

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// fakeResolver answers fixed addresses per host, in order.
type fakeResolver map[string][]string

func (f fakeResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	ips, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []net.IPAddr
	for _, s := range ips {
		out = append(out, net.IPAddr{IP: net.ParseIP(s)})
	}
	return out, nil
}

// testSender refuses private addresses unless allowPrivate, resolves with
// r, and gives up quickly.
func testSender(allowPrivate bool, r fakeResolver) *Sender {
	g := Guard{AllowPrivate: allowPrivate}
	if r != nil {
		g.Resolver = r
	}
	return NewSender(SenderConfig{Guard: g, ConnectTimeout: 2 * time.Second, Timeout: 5 * time.Second})
}

func send(s *Sender, url string) Result {
	return s.Send(context.Background(), url, Signed{Body: []byte(`{}`), Headers: http.Header{}}, time.Now())
}

// TestGuardRefusesInternalAddresses sends to every internal range, in
// every spelling, and expects the guard (not a failed connect) to refuse.
func TestGuardRefusesInternalAddresses(t *testing.T) {
	t.Parallel()
	resolver := fakeResolver{
		"public-then-private.test": {"93.184.216.34", "127.0.0.1"},
		"public-then-mapped.test":  {"93.184.216.34", "::ffff:10.0.0.1"},
		"metadata.test":            {"169.254.169.254"},
		"localhost":                {"127.0.0.1", "::1"},
		"internal.test":            {"10.1.2.3"},
	}
	for _, tc := range []struct {
		url string
		// alsoWithFlag: refused even with --allow-private-webhooks.
		alsoWithFlag bool
	}{
		// IPv4 ranges.
		{"http://127.0.0.1/", false},
		{"http://127.255.255.254:8080/", false},
		{"http://10.0.0.1/", false},
		{"http://172.16.0.1/", false},
		{"http://172.31.255.255/", false},
		{"http://192.168.1.1/", false},
		{"http://100.64.0.1/", false}, // CGNAT
		{"http://169.254.169.254/latest/meta-data/", true},
		{"http://169.254.1.1/", true},
		{"http://100.100.100.200/", true}, // Alibaba metadata
		{"http://0.0.0.0/", true},
		{"http://0.1.2.3/", true},
		{"http://224.0.0.1/", true},
		{"http://239.255.255.250/", true},
		{"http://255.255.255.255/", true},
		{"http://240.0.0.1/", true},
		{"http://192.0.0.8/", true},
		{"http://192.0.2.1/", true},
		{"http://198.18.0.1/", true},
		{"http://198.51.100.1/", true},
		{"http://203.0.113.1/", true},
		{"http://192.88.99.1/", true},
		// Alternative IPv4 spellings (inet_aton forms).
		{"http://2130706433/", true},          // decimal 127.0.0.1
		{"http://017700000001/", true},        // octal
		{"http://0x7f000001/", true},          // hex
		{"http://0x7f.1/", true},              // hex, short form
		{"http://127.1/", true},               // short form
		{"http://127.0.1/", true},             // short form
		{"http://0177.0.0.1/", true},          // octal label
		{"http://0x7f.0x0.0x0.0x1/", true},    // hex labels
		{"http://00000127.0.0.1/", true},      // zero-padded
		{"http://3232235777/", true},          // decimal 192.168.1.1
		{"http://2852039166/", true},          // decimal 169.254.169.254
		{"http://0251.0376.0251.0376/", true}, // octal 169.254.169.254
		{"http://127.0.0.1./", false},         // trailing dot resolves like the bare address
		// IPv6 ranges.
		{"http://[::1]/", false},
		{"http://[::]/", true},
		{"http://[fc00::1]/", false},
		{"http://[fd12:3456::1]/", false},
		{"http://[fd00:ec2::254]/", true}, // AWS metadata over IPv6
		{"http://[fe80::1]/", true},
		{"http://[fe80::1%25eth0]/", true},
		{"http://[fec0::1]/", true},
		{"http://[ff02::1]/", true},
		{"http://[2001:db8::1]/", true},
		{"http://[100::1]/", true},
		{"http://[2001::1]/", true}, // Teredo
		// IPv4 inside IPv6.
		{"http://[::ffff:127.0.0.1]/", false},
		{"http://[::ffff:7f00:1]/", false},
		{"http://[::ffff:169.254.169.254]/", true},
		{"http://[::ffff:a9fe:a9fe]/", true},
		{"http://[0:0:0:0:0:ffff:10.0.0.1]/", false},
		{"http://[::127.0.0.1]/", true},        // IPv4-compatible
		{"http://[::7f00:1]/", true},           // IPv4-compatible, hex
		{"http://[64:ff9b::127.0.0.1]/", true}, // NAT64
		{"http://[64:ff9b::a9fe:a9fe]/", true}, // NAT64 of metadata
		{"http://[64:ff9b:1::a00:1]/", true},   // local-use NAT64
		{"http://[2002:7f00:1::]/", true},      // 6to4 of 127.0.0.1
		{"http://[2002:a9fe:a9fe::1]/", true},  // 6to4 of metadata
		{"http://[2002:c0a8:0101::1]/", true},  // 6to4 of 192.168.1.1
		// Names that resolve inside.
		{"http://localhost/", false},
		{"http://internal.test/", false},
		{"http://metadata.test/", true},
		{"http://public-then-private.test/", false},
		{"http://public-then-mapped.test/", false},
		// Schemes.
		{"file:///etc/passwd", true},
		{"gopher://127.0.0.1:70/_x", true},
		{"ftp://example.com/", true},
		{"dict://127.0.0.1:11211/", true},
		{"ws://example.com/", true},
		{"//example.com/", true},
		{"http:///nohost", true},
		{"http://example.com:99999/", true},
	} {
		for _, allow := range []bool{false, true} {
			if allow && !tc.alsoWithFlag {
				continue
			}
			t.Run(tc.url, func(t *testing.T) {
				t.Parallel()
				r := send(testSender(allow, resolver), tc.url)
				if !r.Refused || r.StatusCode != 0 {
					t.Fatalf("allowPrivate=%v: %s was not refused by the guard: %+v", allow, tc.url, r)
				}
				if r.Err == "" {
					t.Fatal("refusal without a reason")
				}
			})
		}
	}
}

func TestGuardLetsPublicAddressesThrough(t *testing.T) {
	t.Parallel()
	g := Guard{}
	for _, s := range []string{"8.8.8.8", "93.184.216.34", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111",
		"::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "2a00:1450:4001::1"} {
		if err := g.checkIP(netip.MustParseAddr(s)); err != nil {
			t.Errorf("%s refused: %v", s, err)
		}
	}
	for _, s := range []string{"example.com", "hooks.example.com", "1password.com", "a.1", "0x.example"} {
		if _, err := g.CheckURL("https://" + s + "/hook"); err != nil {
			t.Errorf("https://%s refused: %v", s, err)
		}
	}
}

// TestGuardChecksTheDialledAddress connects through the guard to a real
// loopback receiver: refused without the flag, answered with it. The
// refusal comes before any byte reaches the receiver.
func TestGuardChecksTheDialledAddress(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	named := "http://receiver.test:" + port + "/"
	resolver := fakeResolver{"receiver.test": {"127.0.0.1"}}
	if r := send(testSender(false, resolver), named); !r.Refused {
		t.Fatalf("loopback receiver reached without the flag: %+v", r)
	}
	if hits.Load() != 0 {
		t.Fatal("the receiver was reached although refused")
	}
	if r := send(testSender(true, resolver), named); r.Refused || r.StatusCode != 200 {
		t.Fatalf("with --allow-private-webhooks: %+v", r)
	}
	if hits.Load() != 1 {
		t.Fatalf("receiver hits = %d, want 1", hits.Load())
	}
}

// TestRedirectsAreNotFollowed points a receiver at an internal address
// through a redirect: the attempt fails and the target is never reached.
func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	var internalHits atomic.Int32
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { internalHits.Add(1) }))
	defer internal.Close()
	for _, code := range []int{301, 302, 303, 307, 308} {
		redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, internal.URL+"/admin", code)
		}))
		r := send(testSender(true, nil), redirector.URL)
		redirector.Close()
		if r.StatusCode != code {
			t.Errorf("redirect %d: got %+v", code, r)
		}
		out := RetryPolicy{}.Decide(testDelivery(), testReceiver(), r, time.Now())
		if out.Delivered || !strings.Contains(out.Error, "redirect") {
			t.Errorf("redirect %d counted as %+v", code, out)
		}
	}
	if internalHits.Load() != 0 {
		t.Fatalf("a redirect was followed to the internal address %d times", internalHits.Load())
	}
}

// TestReceiverBodyIsNeverShown makes a receiver answer an error page with
// secrets in it; the recorded error carries only the status.
func TestReceiverBodyIsNeverShown(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		_, _ = w.Write([]byte("internal-db-password=hunter2 " + strings.Repeat("x", 1<<20)))
	}))
	defer srv.Close()
	r := send(testSender(true, nil), srv.URL)
	out := RetryPolicy{}.Decide(testDelivery(), testReceiver(), r, time.Now())
	if r.StatusCode != 500 || strings.Contains(out.Error, "hunter2") || !strings.Contains(out.Error, "HTTP 500") {
		t.Fatalf("result %+v, error %q", r, out.Error)
	}
}

func TestSlowReceiverTimesOut(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	s := NewSender(SenderConfig{Guard: Guard{AllowPrivate: true}, Timeout: 200 * time.Millisecond})
	r := send(s, srv.URL)
	if r.StatusCode != 0 || !strings.Contains(r.Err, "timed out") {
		t.Fatalf("slow receiver: %+v", r)
	}
}

func testReceiver() ion.WebhookReceiver {
	return ion.WebhookReceiver{SharedSecret: "k", Status: ion.ReceiverActive}
}
