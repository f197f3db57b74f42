package tlsca

import (
	"slices"
	"strings"
	"testing"
)

func TestHostsFor(t *testing.T) {
	t.Parallel()
	loopback := []string{"localhost", "127.0.0.1", "::1"}
	tests := []struct {
		name          string
		publicURL     string
		sandboxDomain string
		want          []string
		wantErr       string
	}{
		{
			name:      "name with port and sandbox domain",
			publicURL: "https://ionbox.example.com:8443", sandboxDomain: "sandbox.example.com",
			want: append([]string{"ionbox.example.com", "*.sandbox.example.com", "sandbox.example.com"}, loopback...),
		},
		{
			name:      "no sandbox domain",
			publicURL: "https://ionbox.example.com",
			want:      append([]string{"ionbox.example.com"}, loopback...),
		},
		{
			name:      "IPv4 with port, loopback not repeated",
			publicURL: "http://127.0.0.1:8080",
			want:      []string{"127.0.0.1", "localhost", "::1"},
		},
		{
			name:      "IPv4 elsewhere",
			publicURL: "https://192.0.2.10:8443/", sandboxDomain: "sandbox.test",
			want: append([]string{"192.0.2.10", "*.sandbox.test", "sandbox.test"}, loopback...),
		},
		{
			name:      "IPv6 in brackets with port",
			publicURL: "https://[2001:db8::1]:8443", sandboxDomain: "sandbox.test",
			want: append([]string{"2001:db8::1", "*.sandbox.test", "sandbox.test"}, loopback...),
		},
		{
			name:      "IPv6 loopback in brackets without port",
			publicURL: "https://[::1]",
			want:      []string{"::1", "localhost", "127.0.0.1"},
		},
		{
			name:      "IPv6 written long is shortened",
			publicURL: "https://[2001:0DB8:0:0:0:0:0:0001]:8443",
			want:      append([]string{"2001:db8::1"}, loopback...),
		},
		{
			name:      "localhost with a path",
			publicURL: "http://localhost:8080/ion",
			want:      []string{"localhost", "127.0.0.1", "::1"},
		},
		{
			name:      "case and root dot normalised",
			publicURL: "https://IonBox.Example.COM.:443", sandboxDomain: " Sandbox.Example.COM. ",
			want: append([]string{"ionbox.example.com", "*.sandbox.example.com", "sandbox.example.com"}, loopback...),
		},
		{
			name:      "sandbox domain equal to the public host",
			publicURL: "https://ionbox.test", sandboxDomain: "ionbox.test",
			want: append([]string{"ionbox.test", "*.ionbox.test"}, loopback...),
		},
		{name: "empty URL", publicURL: "", wantErr: "want http(s)://host[:port]"},
		{name: "address without scheme", publicURL: "127.0.0.1:8080", wantErr: "public URL"},
		{name: "name and port without scheme", publicURL: "localhost:8080", wantErr: "want http(s)://host[:port]"},
		{name: "scheme without host", publicURL: "https://", wantErr: "want http(s)://host[:port]"},
		{name: "other scheme", publicURL: "ftp://ionbox.test", wantErr: "want http(s)://host[:port]"},
		{name: "sandbox domain with port", publicURL: "https://ionbox.test", sandboxDomain: "sandbox.test:8443", wantErr: `sandbox domain "sandbox.test:8443"`},
		{name: "sandbox domain as wildcard", publicURL: "https://ionbox.test", sandboxDomain: "*.sandbox.test", wantErr: "sandbox domain"},
		{name: "sandbox domain as URL", publicURL: "https://ionbox.test", sandboxDomain: "https://sandbox.test", wantErr: "sandbox domain"},
		{name: "sandbox domain as IP", publicURL: "https://ionbox.test", sandboxDomain: "10.0.0.1", wantErr: "sandbox domain"},
		{name: "sandbox domain with empty label", publicURL: "https://ionbox.test", sandboxDomain: ".sandbox.test", wantErr: "sandbox domain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := HostsFor(tt.publicURL, tt.sandboxDomain)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("HostsFor(%q, %q) = %q, %v; want an error saying %q", tt.publicURL, tt.sandboxDomain, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("HostsFor(%q, %q): %v", tt.publicURL, tt.sandboxDomain, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("HostsFor(%q, %q) = %q, want %q", tt.publicURL, tt.sandboxDomain, got, tt.want)
			}
			// What HostsFor returns, SelfSigned must accept.
			if _, err := parseHosts(got); err != nil {
				t.Errorf("parseHosts rejects HostsFor's answer: %v", err)
			}
		})
	}
}
