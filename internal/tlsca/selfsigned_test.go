package tlsca

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// t0 is the fixed "now" of tests that do not talk to a real TLS stack.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testHosts is what `ionbox serve --public-url https://ionbox.test:8443
// --sandbox-domain sandbox.test` asks for.
var testHosts = []string{"ionbox.test", "*.sandbox.test", "sandbox.test", "localhost", "127.0.0.1", "::1"}

// fixture is a CA directory after a first SelfSigned call.
type fixture struct {
	dir    string
	cert   tls.Certificate
	caFile string
}

func setup(t *testing.T, hosts []string, now time.Time) fixture {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tls")
	cert, caFile, err := SelfSigned(dir, hosts, now)
	if err != nil {
		t.Fatalf("SelfSigned: %v", err)
	}
	return fixture{dir: dir, cert: cert, caFile: caFile}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSelfSignedServesHTTPS(t *testing.T) {
	t.Parallel()
	// The hosts `ionbox serve --public-url https://ionbox.test:8443
	// --sandbox-domain sandbox.test` asks for; real time, because the TLS
	// client verifies against its own clock.
	hosts, err := HostsFor("https://ionbox.test:8443", "sandbox.test")
	if err != nil {
		t.Fatal(err)
	}
	f := setup(t, hosts, time.Now())
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.Host)
	}))
	srv.TLS = ServerConfig(f.cert)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}

	trusted := x509.NewCertPool()
	if !trusted.AppendCertsFromPEM(readFile(t, f.caFile)) {
		t.Fatalf("%s holds no certificate", f.caFile)
	}
	isHostnameErr := func(err error) bool { var e x509.HostnameError; return errors.As(err, &e) }
	isUnknownCA := func(err error) bool { var e x509.UnknownAuthorityError; return errors.As(err, &e) }

	tests := []struct {
		name    string
		host    string // as written in the URL
		roots   *x509.CertPool
		wantErr func(error) bool // nil: the request must succeed
	}{
		{name: "sandbox host by wildcard", host: "acme-erp-dev.sandbox.test", roots: trusted},
		{name: "sandbox domain itself", host: "sandbox.test", roots: trusted},
		{name: "public host", host: "ionbox.test", roots: trusted},
		{name: "IPv4 loopback", host: "127.0.0.1", roots: trusted},
		{name: "IPv6 loopback", host: "[::1]", roots: trusted},
		{name: "localhost", host: "localhost", roots: trusted},
		{name: "host outside the SANs", host: "evil.example", roots: trusted, wantErr: isHostnameErr},
		{name: "wildcard covers one label only", host: "a.b.sandbox.test", roots: trusted, wantErr: isHostnameErr},
		{name: "client without the CA", host: "acme-erp-dev.sandbox.test", roots: x509.NewCertPool(), wantErr: isUnknownCA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var dialer net.Dialer
			client := &http.Client{
				Timeout: 10 * time.Second,
				Transport: &http.Transport{
					TLSClientConfig:   &tls.Config{RootCAs: tt.roots},
					ForceAttemptHTTP2: true,
					// Every name resolves to the test listener, as DNS
					// (or /etc/hosts) would for a real sandbox domain.
					DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
						return dialer.DialContext(ctx, network, srv.Listener.Addr().String())
					},
				},
			}
			t.Cleanup(client.CloseIdleConnections)

			resp, err := client.Get("https://" + net.JoinHostPort(strings.Trim(tt.host, "[]"), port) + "/")
			if tt.wantErr != nil {
				if err == nil {
					resp.Body.Close()
					t.Fatal("request succeeded, want a verification error")
				}
				if !tt.wantErr(err) {
					t.Fatalf("error = %v, want a different verification error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "hello ") {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
			if resp.ProtoMajor != 2 {
				t.Errorf("protocol = %s, want HTTP/2 negotiated through ALPN", resp.Proto)
			}
		})
	}
}

func TestSelfSignedCertificateProfile(t *testing.T) {
	t.Parallel()
	f := setup(t, testHosts, t0)
	ca, err := parseCertificatePEM(readFile(t, f.caFile))
	if err != nil {
		t.Fatal(err)
	}
	leaf := f.cert.Leaf
	if leaf == nil {
		t.Fatal("cert.Leaf is nil")
	}

	if !ca.IsCA || !ca.BasicConstraintsValid || ca.MaxPathLen != 0 || !ca.MaxPathLenZero {
		t.Errorf("CA basic constraints: IsCA=%v valid=%v MaxPathLen=%d zero=%v", ca.IsCA, ca.BasicConstraintsValid, ca.MaxPathLen, ca.MaxPathLenZero)
	}
	if ca.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("CA key usage = %v", ca.KeyUsage)
	}
	if !strings.HasPrefix(ca.Subject.CommonName, "ionbox local CA (") {
		t.Errorf("CA CN = %q", ca.Subject.CommonName)
	}
	if got, want := ca.NotAfter, t0.AddDate(10, 0, 0); !got.Equal(want) {
		t.Errorf("CA NotAfter = %v, want %v", got, want)
	}
	if ca.PublicKeyAlgorithm != x509.ECDSA || leaf.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key algorithms = %v, %v, want ECDSA", ca.PublicKeyAlgorithm, leaf.PublicKeyAlgorithm)
	}

	if err := leaf.CheckSignatureFrom(ca); err != nil {
		t.Errorf("server certificate not signed by the CA: %v", err)
	}
	if leaf.IsCA || !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("server IsCA=%v ExtKeyUsage=%v", leaf.IsCA, leaf.ExtKeyUsage)
	}
	if got, want := leaf.NotAfter, t0.Add(365*24*time.Hour); !got.Equal(want) {
		t.Errorf("server NotAfter = %v, want %v", got, want)
	}
	if want := []string{"ionbox.test", "*.sandbox.test", "sandbox.test", "localhost"}; !slices.Equal(leaf.DNSNames, want) {
		t.Errorf("DNSNames = %q, want %q", leaf.DNSNames, want)
	}
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	if want := []string{"127.0.0.1", "::1"}; !slices.Equal(ips, want) {
		t.Errorf("IPAddresses = %q, want %q", ips, want)
	}
	for name, c := range map[string]*x509.Certificate{"CA": ca, "server": leaf} {
		if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 {
			t.Errorf("%s serial %v is not a positive 128-bit number", name, c.SerialNumber)
		}
	}
	if ca.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
		t.Error("CA and server certificate share a serial number")
	}
}

func TestSelfSignedSecondStart(t *testing.T) {
	t.Parallel()
	caEnd := t0.AddDate(10, 0, 0)
	tests := []struct {
		name        string
		hosts       []string
		now         time.Time
		prepare     func(t *testing.T, dir string)
		wantReissue bool
		// wantNotAfter, when set, is the new server certificate's expiry.
		wantNotAfter time.Time
	}{
		{name: "same hosts reuse everything", hosts: testHosts, now: t0.Add(time.Minute)},
		{name: "same hosts in another order and case", hosts: []string{"::1", "127.0.0.1", "LOCALHOST", "Sandbox.Test.", "*.sandbox.test", "ionbox.test"}, now: t0},
		{name: "well before expiry", hosts: testHosts, now: t0.Add(300 * 24 * time.Hour)},
		{name: "new sandbox domain re-issues", hosts: []string{"ionbox.test", "*.sbx.example", "sbx.example", "localhost", "127.0.0.1", "::1"}, now: t0, wantReissue: true},
		{name: "host dropped re-issues", hosts: testHosts[:4], now: t0, wantReissue: true},
		{name: "within 30 days of expiry re-issues", hosts: testHosts, now: t0.Add(336 * 24 * time.Hour), wantReissue: true, wantNotAfter: t0.Add(701 * 24 * time.Hour)},
		{name: "after expiry re-issues", hosts: testHosts, now: t0.Add(400 * 24 * time.Hour), wantReissue: true},
		{name: "clock behind the cached certificate re-issues", hosts: testHosts, now: t0.Add(50 * 24 * time.Hour), wantReissue: true, prepare: func(t *testing.T, dir string) {
			// A start 100 days on caches a certificate not valid before then.
			if err := os.Remove(filepath.Join(dir, serverCertFile)); err != nil {
				t.Fatal(err)
			}
			if _, _, err := SelfSigned(dir, testHosts, t0.Add(100*24*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "near the CA's end is clamped to it", hosts: testHosts, now: caEnd.Add(-100 * 24 * time.Hour), wantReissue: true, wantNotAfter: caEnd},
		{name: "missing server.pem re-issues", hosts: testHosts, now: t0, wantReissue: true, prepare: func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, serverCertFile)); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "missing server-key.pem re-issues", hosts: testHosts, now: t0, wantReissue: true, prepare: func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, serverKeyFile)); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, testHosts, t0)
			caBefore := readFile(t, f.caFile)
			caKeyBefore := readFile(t, filepath.Join(f.dir, caKeyFile))
			if tt.prepare != nil {
				tt.prepare(t, f.dir)
			}
			serverBefore, _ := os.ReadFile(filepath.Join(f.dir, serverCertFile))

			cert, caFile, err := SelfSigned(f.dir, tt.hosts, tt.now)
			if err != nil {
				t.Fatalf("second SelfSigned: %v", err)
			}
			if caFile != f.caFile || caFile != filepath.Join(f.dir, "ca.pem") {
				t.Errorf("caFile = %q, want %q", caFile, f.caFile)
			}
			if !bytes.Equal(readFile(t, caFile), caBefore) || !bytes.Equal(readFile(t, filepath.Join(f.dir, caKeyFile)), caKeyBefore) {
				t.Error("the CA files changed; a second start must keep the CA")
			}
			reissued := !bytes.Equal(encodeCertificate(cert.Certificate[0]), serverBefore)
			if reissued != tt.wantReissue {
				t.Fatalf("re-issued = %v, want %v", reissued, tt.wantReissue)
			}
			// The cache on disk is what was returned, so the next start
			// serves the same certificate.
			onDisk, err := tls.LoadX509KeyPair(filepath.Join(f.dir, serverCertFile), filepath.Join(f.dir, serverKeyFile))
			if err != nil {
				t.Fatalf("cached pair: %v", err)
			}
			if !bytes.Equal(onDisk.Certificate[0], cert.Certificate[0]) {
				t.Error("server.pem differs from the certificate returned")
			}
			want, _ := parseHosts(tt.hosts)
			if !sansOf(cert.Leaf).equal(want) {
				t.Errorf("SANs = %q, want %q", sansOf(cert.Leaf).keys(), want.keys())
			}
			if !tt.wantNotAfter.IsZero() && !cert.Leaf.NotAfter.Equal(tt.wantNotAfter) {
				t.Errorf("NotAfter = %v, want %v", cert.Leaf.NotAfter, tt.wantNotAfter)
			}
			ca, err := parseCertificatePEM(caBefore)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: poolOf(ca), CurrentTime: tt.now}); err != nil {
				t.Errorf("certificate does not verify at %v: %v", tt.now, err)
			}
		})
	}
}

func poolOf(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

func TestSelfSignedFileModes(t *testing.T) {
	t.Parallel()
	f := setup(t, testHosts, t0)
	tests := []struct {
		name string
		want fs.FileMode
	}{
		{".", 0o700},
		{caKeyFile, 0o600},
		{serverKeyFile, 0o600},
		{caCertFile, 0o644},
		{serverCertFile, 0o644},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fi, err := os.Stat(filepath.Join(f.dir, tt.name))
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != tt.want {
				t.Errorf("mode = %v, want %v", got, tt.want)
			}
		})
	}
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"ca-key.pem", "ca.pem", "server-key.pem", "server.pem"}; !slices.Equal(names, want) {
		t.Errorf("directory holds %q, want %q (no temporary files left behind)", names, want)
	}
}

func TestSelfSignedDamagedFiles(t *testing.T) {
	t.Parallel()
	// other is a second, unrelated CA directory whose files are used to
	// make mismatched pairs.
	other := setup(t, testHosts, t0)

	write := func(name string, data []byte) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	copyFrom := func(src, name string) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			write(name, readFile(t, filepath.Join(src, name)))(t, dir)
		}
	}
	remove := func(name string) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	truncate := func(name string) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			b := readFile(t, filepath.Join(dir, name))
			write(name, b[:len(b)/2])(t, dir)
		}
	}
	// serverAsCA puts the server pair where the CA pair belongs: a
	// matching pair, but not a CA.
	serverAsCA := func(t *testing.T, dir string) {
		write(caCertFile, readFile(t, filepath.Join(dir, serverCertFile)))(t, dir)
		write(caKeyFile, readFile(t, filepath.Join(dir, serverKeyFile)))(t, dir)
	}

	tests := []struct {
		name     string
		damage   func(*testing.T, string)
		now      time.Time
		wantFile string // the file the error must name
		wantText string // a phrase of the error
		// wantStartOver: the remedy is deleting the whole directory
		// (a CA problem); otherwise deleting the server pair.
		wantStartOver bool
	}{
		{name: "ca.pem garbage", damage: write(caCertFile, []byte("not a certificate\n")), wantFile: caCertFile, wantText: "not a usable CA certificate", wantStartOver: true},
		{name: "ca.pem truncated", damage: truncate(caCertFile), wantFile: caCertFile, wantText: "not a usable CA certificate", wantStartOver: true},
		{name: "ca.pem holds a key", damage: func(t *testing.T, dir string) {
			write(caCertFile, readFile(t, filepath.Join(dir, caKeyFile)))(t, dir)
		}, wantFile: caCertFile, wantText: `PEM block is "PRIVATE KEY", want CERTIFICATE`, wantStartOver: true},
		{name: "ca-key.pem garbage", damage: write(caKeyFile, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")), wantFile: caKeyFile, wantText: "not a usable private key", wantStartOver: true},
		{name: "ca-key.pem of another CA", damage: copyFrom(other.dir, caKeyFile), wantFile: caKeyFile, wantText: "does not match the certificate in ca.pem", wantStartOver: true},
		{name: "ca.pem of another CA", damage: copyFrom(other.dir, caCertFile), wantFile: caKeyFile, wantText: "does not match the certificate in ca.pem", wantStartOver: true},
		{name: "CA pair that is not a CA", damage: serverAsCA, wantFile: caCertFile, wantText: "not a CA certificate", wantStartOver: true},
		{name: "ca-key.pem missing", damage: remove(caKeyFile), wantFile: caKeyFile, wantText: "is missing", wantStartOver: true},
		{name: "ca.pem missing", damage: remove(caCertFile), wantFile: caCertFile, wantText: "is missing", wantStartOver: true},
		{name: "CA expired", damage: func(*testing.T, string) {}, now: t0.AddDate(10, 0, 1), wantFile: caCertFile, wantText: "expired on", wantStartOver: true},
		{name: "server.pem garbage", damage: write(serverCertFile, []byte{0, 1, 2}), wantFile: serverCertFile, wantText: "not a usable certificate"},
		{name: "server-key.pem garbage", damage: write(serverKeyFile, []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")), wantFile: serverKeyFile, wantText: "not a usable private key"},
		{name: "server-key.pem of another server", damage: copyFrom(other.dir, serverKeyFile), wantFile: serverKeyFile, wantText: "does not match the certificate in server.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, testHosts, t0)
			tt.damage(t, f.dir)
			before := snapshot(t, f.dir)
			now := tt.now
			if now.IsZero() {
				now = t0
			}

			_, _, err := SelfSigned(f.dir, testHosts, now)
			if err == nil {
				t.Fatal("SelfSigned succeeded on a damaged directory")
			}
			msg := err.Error()
			var problem *fileProblem
			if !errors.As(err, &problem) {
				t.Errorf("error %q is not a fileProblem", msg)
			}
			if want := filepath.Join(f.dir, tt.wantFile); !strings.Contains(msg, want+":") {
				t.Errorf("error %q does not name %s", msg, want)
			}
			if !strings.Contains(msg, tt.wantText) {
				t.Errorf("error %q does not say %q", msg, tt.wantText)
			}
			if want := "delete " + f.dir + " to start over"; tt.wantStartOver && !strings.Contains(msg, want) {
				t.Errorf("error %q does not say %q", msg, want)
			}
			if want := "delete " + filepath.Join(f.dir, serverCertFile) + " and "; !tt.wantStartOver && !strings.Contains(msg, want) {
				t.Errorf("error %q does not say %q", msg, want)
			}
			if after := snapshot(t, f.dir); !maps.Equal(before, after) {
				t.Error("SelfSigned changed the directory while reporting an error")
			}
		})
	}
}

// snapshot returns every file in dir by name.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range entries {
		m[e.Name()] = string(readFile(t, filepath.Join(dir, e.Name())))
	}
	return m
}

func TestSelfSignedRejectsBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		hosts []string
		want  string
	}{
		{"no hosts", nil, "no hosts"},
		{"host with a port", []string{"ionbox.test:8443"}, `"ionbox.test:8443" is not a DNS name or IP address`},
		{"URL as host", []string{"https://ionbox.test"}, "is not a DNS name or IP address"},
		{"empty host", []string{""}, "is not a DNS name or IP address"},
		{"wildcard in the middle", []string{"a.*.test"}, "is not a DNS name or IP address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "tls")
			_, _, err := SelfSigned(dir, tt.hosts, t0)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one saying %q", err, tt.want)
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("bad input created %s (stat: %v)", dir, err)
			}
		})
	}
}
