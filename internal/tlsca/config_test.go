package tlsca

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestFromFiles(t *testing.T) {
	t.Parallel()
	f := setup(t, testHosts, t0)
	other := setup(t, testHosts, t0)
	serverCert := filepath.Join(f.dir, serverCertFile)
	serverKey := filepath.Join(f.dir, serverKeyFile)
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		certFile  string
		keyFile   string
		wantErr   []string // phrases of the error; nil for success
		wantChain []byte
	}{
		{name: "matching pair", certFile: serverCert, keyFile: serverKey, wantChain: f.cert.Certificate[0]},
		{name: "CA pair", certFile: f.caFile, keyFile: filepath.Join(f.dir, caKeyFile)},
		{name: "key of another certificate", certFile: serverCert, keyFile: filepath.Join(other.dir, serverKeyFile),
			wantErr: []string{serverCert, filepath.Join(other.dir, serverKeyFile), "does not match"}},
		{name: "certificate file is garbage", certFile: garbage, keyFile: serverKey, wantErr: []string{garbage}},
		{name: "missing key file", certFile: serverCert, keyFile: filepath.Join(f.dir, "nope.pem"), wantErr: []string{"nope.pem"}},
		{name: "only a certificate", certFile: serverCert, wantErr: []string{"--tls-cert", "--tls-key"}},
		{name: "only a key", keyFile: serverKey, wantErr: []string{"--tls-cert", "--tls-key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := FromFiles(tt.certFile, tt.keyFile)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatal("FromFiles succeeded")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("FromFiles: %v", err)
			}
			checkServerConfig(t, cfg)
			if tt.wantChain != nil && !slices.Equal(cfg.Certificates[0].Certificate[0], tt.wantChain) {
				t.Error("FromFiles serves a different certificate than the file holds")
			}
		})
	}
}

func TestServerConfig(t *testing.T) {
	t.Parallel()
	f := setup(t, testHosts, t0)
	cfg := ServerConfig(f.cert)
	checkServerConfig(t, cfg)
	if !slices.Equal(cfg.Certificates[0].Certificate[0], f.cert.Certificate[0]) {
		t.Error("ServerConfig serves a different certificate")
	}
}

func checkServerConfig(t *testing.T, cfg *tls.Config) {
	t.Helper()
	if len(cfg.Certificates) != 1 {
		t.Fatalf("config holds %d certificates, want 1", len(cfg.Certificates))
	}
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %#x, want TLS 1.2", cfg.MinVersion)
	}
	if want := []string{"h2", "http/1.1"}; !slices.Equal(cfg.NextProtos, want) {
		t.Errorf("NextProtos = %q, want %q", cfg.NextProtos, want)
	}
}
