package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxResponseRead bounds how much of a receiver's answer is read (and
// thrown away) so that the connection can be reused; a receiver cannot make
// the server read more.
const maxResponseRead = 64 << 10

// SenderConfig configures the HTTP client that sends deliveries.
type SenderConfig struct {
	Guard Guard
	// ConnectTimeout bounds the TCP (and TLS) connect; default 5 s.
	ConnectTimeout time.Duration
	// Timeout bounds a whole attempt, from connect to the end of the
	// response headers and the bounded body read; default 15 s.
	Timeout time.Duration
	// MaxConnsPerHost caps the connections to one receiver host; default
	// 64.
	MaxConnsPerHost int
}

// Sender POSTs rendered deliveries to receivers.
type Sender struct {
	cfg    SenderConfig
	client *http.Client
}

// NewSender builds the client: no proxy (a proxy would connect where the
// guard never looked), the guard's dialer, and no redirects followed.
func NewSender(cfg SenderConfig) *Sender {
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.MaxConnsPerHost <= 0 {
		cfg.MaxConnsPerHost = 64
	}
	g := cfg.Guard
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           g.DialContext(&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}),
		TLSHandshakeTimeout:   cfg.ConnectTimeout,
		ResponseHeaderTimeout: cfg.Timeout,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   cfg.MaxConnsPerHost,
		MaxConnsPerHost:       cfg.MaxConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &Sender{cfg: cfg, client: &http.Client{
		Transport: tr,
		// A redirect is a failed attempt: following it would let a
		// public receiver point the server at an internal address.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Result is what one attempt got.
type Result struct {
	StatusCode int
	// RetryAfter is the receiver's Retry-After, 0 when absent.
	RetryAfter time.Duration
	// Err is why the attempt failed, in words safe to show the
	// organization (never the receiver's body); "" when no response
	// arrived is impossible: then Err says why.
	Err string
	// Refused is true when the guard refused the address.
	Refused bool
}

// Send POSTs s to rawURL once. wallNow is used to turn a Retry-After date
// into a delay.
func (snd *Sender) Send(ctx context.Context, rawURL string, s Signed, wallNow time.Time) Result {
	u, err := snd.cfg.Guard.CheckURL(rawURL)
	if err != nil {
		return Result{Err: err.Error(), Refused: true}
	}
	ctx, cancel := context.WithTimeout(ctx, snd.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(s.Body))
	if err != nil {
		return Result{Err: "the receiver URL is not a valid request URL", Refused: true}
	}
	for k, v := range s.Headers {
		req.Header[k] = v
	}
	resp, err := snd.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrRefused) {
			return Result{Err: refusedMessage(err), Refused: true}
		}
		return Result{Err: transportMessage(ctx, err)}
	}
	_, _ = io.CopyN(io.Discard, resp.Body, maxResponseRead)
	resp.Body.Close()
	return Result{StatusCode: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), wallNow)}
}

// refusedMessage is the guard's own sentence without the transport's
// wrapping ("Post "http://…": dial tcp: …").
func refusedMessage(err error) string {
	s := err.Error()
	if i := strings.Index(s, ErrRefused.Error()); i >= 0 {
		return s[i:]
	}
	return ErrRefused.Error()
}

// transportMessage names the kind of network failure without addresses
// or anything the receiver sent.
func transportMessage(ctx context.Context, err error) string {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		return "timed out waiting for the receiver"
	case errors.As(err, &dnsErr):
		return "could not resolve the receiver's host name"
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return "could not connect to the receiver"
	case strings.Contains(err.Error(), "tls:") || strings.Contains(err.Error(), "x509:"):
		return "TLS handshake with the receiver failed"
	}
	return "the connection to the receiver failed"
}

// parseRetryAfter reads Retry-After as seconds or an HTTP date.
func parseRetryAfter(v string, wallNow time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(wallNow)
		if d <= 0 {
			return 0
		}
		return min(d, maxRetryAfter)
	}
	return 0
}

// statusText is the LastError of an unsuccessful answer.
func statusText(code int, expected int) string {
	switch {
	case code >= 300 && code < 400:
		return fmt.Sprintf("HTTP %d: redirects are not followed; point the receiver URL at the final address", code)
	case code == 410:
		return "HTTP 410 Gone: the receiver asked to stop deliveries; it was disabled (set its status to ACTIVE to resume)"
	}
	return fmt.Sprintf("HTTP %d (expected %d or any 2xx)", code, expected)
}
