package tlsca

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// HostsFor returns the SANs for a public URL's host and a sandbox domain:
// the public host, "*."+sandboxDomain and sandboxDomain (when set), plus
// "localhost", "127.0.0.1" and "::1", without duplicates. Ports and the
// brackets around an IPv6 address are stripped; names are lower-cased.
//
// The loopback names are always there because the server is most often
// reached from the same machine, whatever --public-url says.
func HostsFor(publicURL, sandboxDomain string) ([]string, error) {
	u, err := url.Parse(publicURL)
	if err != nil {
		return nil, fmt.Errorf("tlsca: public URL %q: want http(s)://host[:port]: %w", publicURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, fmt.Errorf("tlsca: public URL %q: want http(s)://host[:port]", publicURL)
	}
	host := canonicalHost(u.Hostname())
	if _, err := parseHosts([]string{host}); err != nil {
		return nil, fmt.Errorf("tlsca: public URL %q: host %q is not a DNS name or IP address", publicURL, host)
	}
	hosts := []string{host}
	if sandboxDomain != "" {
		d := canonicalHost(strings.TrimSpace(sandboxDomain))
		if _, isIP := parseIP(d); isIP || !validDNSName(d, false) {
			return nil, fmt.Errorf("tlsca: sandbox domain %q: want a DNS name such as sandbox.example.com, without scheme, port or wildcard", sandboxDomain)
		}
		hosts = append(hosts, "*."+d, d)
	}
	hosts = append(hosts, "localhost", "127.0.0.1", "::1")

	var out []string
	for _, h := range hosts {
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out, nil
}

// sanSet is what a server certificate names: DNS names (wildcards
// included) and IP addresses, each in canonical form.
type sanSet struct {
	dnsNames []string
	ips      []net.IP
}

// parseHosts sorts hosts into DNS names and IP addresses, in canonical
// form and without duplicates, rejecting anything that is neither.
func parseHosts(hosts []string) (sanSet, error) {
	if len(hosts) == 0 {
		return sanSet{}, fmt.Errorf("tlsca: no hosts to issue a server certificate for")
	}
	var s sanSet
	seen := map[string]bool{}
	for _, h := range hosts {
		c := canonicalHost(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"))
		if seen[c] {
			continue
		}
		seen[c] = true
		if ip, ok := parseIP(c); ok {
			s.ips = append(s.ips, ip)
			continue
		}
		if !validDNSName(c, true) {
			return sanSet{}, fmt.Errorf("tlsca: host %q is not a DNS name or IP address", h)
		}
		s.dnsNames = append(s.dnsNames, c)
	}
	return s, nil
}

// sansOf returns what a certificate names, in canonical form.
func sansOf(cert *x509.Certificate) sanSet {
	var s sanSet
	for _, n := range cert.DNSNames {
		s.dnsNames = append(s.dnsNames, canonicalHost(n))
	}
	for _, ip := range cert.IPAddresses {
		if c, ok := parseIP(canonicalHost(ip.String())); ok {
			s.ips = append(s.ips, c)
		}
	}
	return s
}

// keys returns the set as sorted canonical strings, for comparison.
func (s sanSet) keys() []string {
	var k []string
	for _, n := range s.dnsNames {
		k = append(k, "dns:"+n)
	}
	for _, ip := range s.ips {
		k = append(k, "ip:"+canonicalHost(ip.String()))
	}
	slices.Sort(k)
	return slices.Compact(k)
}

func (s sanSet) equal(o sanSet) bool { return slices.Equal(s.keys(), o.keys()) }

// canonicalHost lower-cases a name and drops a trailing root dot; an IP
// address is written in its shortest form, IPv4-mapped IPv6 as IPv4 and
// without a zone, which a certificate cannot carry.
func canonicalHost(h string) string {
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap().WithZone("").String()
	}
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// parseIP parses a canonical host as an IP address.
func parseIP(h string) (net.IP, bool) {
	a, err := netip.ParseAddr(h)
	if err != nil {
		return nil, false
	}
	return net.IP(a.Unmap().WithZone("").AsSlice()), true
}

// validDNSName checks a lower-cased name label by label: letters, digits,
// hyphens and underscores, 1 to 63 characters each, 253 in all; with
// wildcard, the first label may be "*".
func validDNSName(name string, wildcard bool) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for i, label := range strings.Split(name, ".") {
		if wildcard && i == 0 && label == "*" && strings.Contains(name, ".") {
			continue
		}
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}
