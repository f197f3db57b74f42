package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
)

// ErrRefused is wrapped by every error of a receiver address that the guard
// does not let the server connect to.
var ErrRefused = errors.New("webhook receiver address refused")

// addrClass says why an address is not a public unicast address.
type addrClass string

const (
	classPublic      addrClass = ""
	classLoopback    addrClass = "loopback"
	classPrivate     addrClass = "private"
	classLinkLocal   addrClass = "link-local"
	classMetadata    addrClass = "cloud metadata"
	classUnspecified addrClass = "unspecified"
	classMulticast   addrClass = "multicast"
	classReserved    addrClass = "reserved or documentation"
)

// allowedWithFlag are the classes that --allow-private-webhooks lets
// through, for receivers on the developer's own machine or network; link
// local and metadata addresses stay refused because that is where cloud
// credentials are served.
func (c addrClass) allowedWithFlag() bool {
	return c == classLoopback || c == classPrivate
}

type prefixClass struct {
	p netip.Prefix
	c addrClass
}

func mustPrefixes(c addrClass, ss ...string) []prefixClass {
	out := make([]prefixClass, 0, len(ss))
	for _, s := range ss {
		out = append(out, prefixClass{netip.MustParsePrefix(s), c})
	}
	return out
}

// deniedRanges lists every non-public range (IANA special-purpose
// registries). Order matters: the first match names the class, so that
// metadata addresses come before the ranges that contain them.
var deniedRanges = concat(
	mustPrefixes(classMetadata, "169.254.169.254/32", "fd00:ec2::254/128", "100.100.100.200/32"),
	mustPrefixes(classUnspecified, "0.0.0.0/8", "::/128"),
	mustPrefixes(classLoopback, "127.0.0.0/8", "::1/128"),
	mustPrefixes(classPrivate, "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"),
	mustPrefixes(classLinkLocal, "169.254.0.0/16", "fe80::/10", "fec0::/10"),
	mustPrefixes(classMulticast, "224.0.0.0/4", "ff00::/8"),
	mustPrefixes(classReserved,
		"192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "240.0.0.0/4", "255.255.255.255/32",
		"::/96",          // IPv4-compatible (deprecated)
		"64:ff9b:1::/48", // local-use NAT64
		"100::/64",       // discard-only
		"2001::/32",      // Teredo: the embedded client address is obfuscated
		"2001:db8::/32",  // documentation
		"2001:10::/28",   // ORCHID
		"2001:20::/28",   // ORCHIDv2
		"3fff::/20",      // documentation
		"5f00::/16",      // segment routing
	),
)

func concat(ls ...[]prefixClass) []prefixClass {
	var out []prefixClass
	for _, l := range ls {
		out = append(out, l...)
	}
	return out
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// classify says what kind of address ip is. IPv6 forms that embed an IPv4
// address (mapped, NAT64, 6to4) are judged by the embedded address, so that
// "::ffff:127.0.0.1" or "64:ff9b::a00:1" cannot reach what "127.0.0.1" or
// "10.0.0.1" cannot.
func classify(ip netip.Addr) addrClass {
	ip = ip.WithZone("")
	if ip.Is4In6() {
		return classify(ip.Unmap())
	}
	if ip.Is6() {
		b := ip.As16()
		switch {
		case nat64.Contains(ip):
			return embedded(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(ip):
			return embedded(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	for _, r := range deniedRanges {
		if r.p.Contains(ip) {
			return r.c
		}
	}
	return classPublic
}

// embedded classifies an IPv4 address found inside an IPv6 one; anything
// non-public there is refused outright, even with --allow-private-webhooks,
// because no development setup needs to spell a local address that way.
func embedded(v4 netip.Addr) addrClass {
	if c := classify(v4); c != classPublic {
		return classReserved
	}
	return classPublic
}

// Guard decides which receiver URLs and addresses the server may connect
// to.
type Guard struct {
	// AllowPrivate lets loopback and private (RFC 1918, CGNAT, ULA)
	// addresses through: --allow-private-webhooks.
	AllowPrivate bool
	// Resolver looks host names up; default net.DefaultResolver. Tests
	// inject one.
	Resolver interface {
		LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	}
}

// checkIP returns nil when the guard lets ip through.
func (g *Guard) checkIP(ip netip.Addr) error {
	if !ip.IsValid() {
		return fmt.Errorf("%w: not an IP address", ErrRefused)
	}
	c := classify(ip)
	if c == classPublic || (g.AllowPrivate && c.allowedWithFlag()) {
		return nil
	}
	hint := ""
	if c.allowedWithFlag() {
		hint = " (the server operator can allow loopback and private receivers with --allow-private-webhooks, for local development)"
	}
	return fmt.Errorf("%w: the receiver's address is %s, not a public address%s", ErrRefused, c, hint)
}

// CheckURL refuses what can be refused before connecting: schemes other
// than http and https, missing hosts, and hosts that spell an IPv4 address
// in a non-canonical way ("2130706433", "0x7f.1", "127.1", "0177.0.0.1"),
// which some resolvers would turn into an address the guard never saw. The
// address itself is checked again at connect time.
func (g *Guard) CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: the URL does not parse", ErrRefused)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: scheme %q is not http or https", ErrRefused, u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("%w: the URL has no host", ErrRefused)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%w: port %q is not a port number", ErrRefused, p)
		}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := g.checkIP(ip); err != nil {
			return nil, err
		}
		return u, nil
	}
	if looksNumeric(host) {
		return nil, fmt.Errorf("%w: host %q spells an IP address in a non-canonical form; write it as a dotted quad", ErrRefused, host)
	}
	return u, nil
}

// looksNumeric reports whether every dot-separated label of host is a
// number in inet_aton's sense (decimal, 0-prefixed octal or 0x hex), i.e.
// whether some resolver would read the host as an IPv4 address.
func looksNumeric(host string) bool {
	host = strings.TrimSuffix(host, ".")
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return false
	}
	for _, p := range parts {
		s := strings.ToLower(p)
		base := 10
		switch {
		case strings.HasPrefix(s, "0x"):
			s, base = s[2:], 16
		case len(s) > 1 && s[0] == '0':
			s, base = s[1:], 8
		}
		if s == "" && base == 16 {
			continue // "0x" alone is 0 to inet_aton
		}
		if _, err := strconv.ParseUint(s, base, 64); err != nil {
			return false
		}
	}
	return true
}

// DialContext resolves address's host, refuses it if ANY of its addresses
// is refused (so that a resolver answering a public address first and a
// private one second gets nowhere), and dials the checked addresses
// themselves, so that a second lookup cannot answer differently (DNS
// rebinding). The dialer's Control checks the address actually dialled
// once more.
func (g *Guard) DialContext(dialer *net.Dialer) func(ctx context.Context, network, address string) (net.Conn, error) {
	d := *dialer
	d.Control = func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: dialled address %q does not parse", ErrRefused, address)
		}
		return g.checkIP(ap.Addr())
	}
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(address)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrRefused, err)
		}
		var ips []netip.Addr
		if ip, err := netip.ParseAddr(host); err == nil {
			ips = []netip.Addr{ip}
		} else {
			if looksNumeric(host) {
				return nil, fmt.Errorf("%w: host %q spells an IP address in a non-canonical form", ErrRefused, host)
			}
			var r interface {
				LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
			} = net.DefaultResolver
			if g.Resolver != nil {
				r = g.Resolver
			}
			addrs, err := r.LookupIPAddr(ctx, host)
			if err != nil {
				return nil, fmt.Errorf("look up the receiver's host: %w", err)
			}
			for _, a := range addrs {
				ip, ok := netip.AddrFromSlice(a.IP)
				if !ok {
					return nil, fmt.Errorf("%w: the resolver answered an invalid address", ErrRefused)
				}
				ips = append(ips, ip.Unmap())
			}
			if len(ips) == 0 {
				return nil, fmt.Errorf("look up the receiver's host: no addresses")
			}
		}
		for _, ip := range ips {
			if err := g.checkIP(ip); err != nil {
				return nil, err
			}
		}
		var firstErr error
		for _, ip := range ips {
			c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
			if err == nil {
				return c, nil
			}
			if firstErr == nil {
				firstErr = err
			}
			if ctx.Err() != nil {
				break
			}
		}
		return nil, firstErr
	}
}
