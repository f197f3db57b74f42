package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ionbox/ionbox/internal/limit"
	"github.com/ionbox/ionbox/ion"
)

// shedding admits the request through the node's concurrency gate, or
// sheds a sandbox request with 503 SANDBOX_THROTTLED, before any work is
// spent on it. It also turns a sandbox request away with 429 while the
// aggregate sandbox budget is empty, before authenticating it, so that a
// flood costs the node as little as possible.
func (s *Server) shedding(env Environment, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sandbox := env.Env.Kind == ion.EnvSandbox
		done, ok := s.cfg.Gate.Enter(sandbox)
		if !ok {
			s.shedHeaders(w.Header())
			s.writeShed(w, env)
			return
		}
		if d := s.cfg.Limiter.PreCheck(r.Context(), env.Env); !d.Allowed {
			done()
			s.refuse(w, r, env, d)
			return
		}
		if credential, ok := s.refused.credential(env.Env.Name, r.Header.Get("Authorization")); ok {
			if d := s.cfg.Limiter.PeekRequest(r.Context(), env.Env, credential); !d.Allowed {
				done()
				s.refuse(w, r, env, d)
				return
			}
		}
		defer done()
		next.ServeHTTP(w, r)
	})
}

// writeShed answers 503 SANDBOX_THROTTLED with the gate's Retry-After.
func (s *Server) writeShed(w http.ResponseWriter, env Environment) {
	retry := limit.RetryAfterSeconds(s.cfg.Gate.RetryAfter())
	w.Header().Set("Retry-After", strconv.Itoa(retry))
	writeCodedError(w, statusOf(ion.ESANDBOXTHROTTLED), ion.ESANDBOXTHROTTLED, fmt.Sprintf(
		"Sandbox %q is throttled: this node is at capacity and serves production first. Sandboxes have no SLA; retry after %s.",
		env.Env.Name, seconds(retry)))
}

// productionFirst runs GraphQL production first (limit.Gate): a production
// request is marked as executing, and an admitted sandbox request takes
// its turn (limit.Gate.Turn) before GraphQL executes it: it waits while
// production executes, and is shed with 503 if it waited too long. Both
// read their body first, so that a slow upload neither holds a turn nor
// holds sandboxes back.
func (s *Server) productionFirst(env Environment, next http.Handler) http.Handler {
	sandbox := env.Env.Kind == ion.EnvSandbox
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			// At most bufferedBody bytes: a larger body is past the GraphQL
			// handler's limit anyway, which it answers from what follows.
			buf, err := io.ReadAll(io.LimitReader(r.Body, bufferedBody))
			if err != nil {
				writeCodedError(w, http.StatusBadRequest, ion.EBADREQUEST, fmt.Sprintf("The request body could not be read: %v", err))
				return
			}
			r.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(buf), r.Body), r.Body}
		}
		if !sandbox {
			defer s.cfg.Gate.Production()()
			next.ServeHTTP(w, r)
			return
		}
		release, ok := s.cfg.Gate.Turn(r.Context())
		if !ok {
			if r.Context().Err() != nil {
				return // the client went away
			}
			s.writeShed(w, env)
			return
		}
		defer release()
		next.ServeHTTP(w, r.WithContext(limit.WithTurn(r.Context(), s.cfg.Gate)))
	})
}

// bufferedBody is how much of a sandbox request's body productionFirst
// reads before taking its turn: the GraphQL handler's default limit.
const bufferedBody = 1 << 20

// refuse answers 429 for d. A sandbox request refused before it was
// authenticated (the sandboxes' shared budget is empty, or its credential
// was refused a moment ago and is back before the whole seconds of
// Retry-After it was told) is first held for up to Config.SandboxTarpit,
// never past that Retry-After, outside the concurrency gate: a client that
// retries at once is slowed to about one attempt per tarpit instead of
// spinning on cheap refusals, which on a small node takes the CPU that
// production needs. A client that honours Retry-After is never held. At
// most Config.TarpitSlots requests wait at once; beyond that they are
// answered at once.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, env Environment, d limit.Decision) {
	if env.Env.Kind == ion.EnvSandbox {
		advertised := time.Duration(limit.RetryAfterSeconds(d.RetryAfter)) * time.Second
		if waited := s.tarpit(r, advertised); waited > 0 {
			d.RetryAfter = max(0, d.RetryAfter-waited)
			d.Reset = max(0, d.Reset-waited)
		}
	}
	writeRateLimited(w, env, d)
}

// tarpit waits up to min(retryAfter, SandboxTarpit) if a slot is free, and
// returns how long it waited.
func (s *Server) tarpit(r *http.Request, retryAfter time.Duration) time.Duration {
	wait := min(retryAfter, s.cfg.Limiter.Config().SandboxTarpit)
	if wait <= 0 {
		return 0
	}
	select {
	case s.tarpitSlots <- struct{}{}:
	default:
		return 0
	}
	defer func() { <-s.tarpitSlots }()
	start := time.Now()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
	return time.Since(start)
}

// rateLimited spends one request of the authenticated actor's budget (the
// actor is in the context: limits come after authentication, so that one
// caller cannot spend another's budget) and sets the RateLimit-* headers.
func (s *Server) rateLimited(env Environment, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, _ := ion.ActorFrom(r.Context())
		credential := actor.ClientID
		if credential == "" {
			credential = "user:" + strconv.FormatInt(int64(actor.User.ID), 10)
		}
		d := s.cfg.Limiter.AllowRequest(r.Context(), env.Env, credential)
		if !d.Allowed {
			if d.Scope == limit.ScopeCredential {
				s.refused.remember(env.Env.Name, r.Header.Get("Authorization"), credential)
			}
			writeRateLimited(w, env, d)
			return
		}
		setRateLimitHeaders(w.Header(), d)
		// The GraphQL layer charges the query's cost to this credential.
		ctx := limit.WithCostAccount(r.Context(), limit.CostAccount{Limiter: s.cfg.Limiter, Env: env.Env, Credential: credential})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// setRateLimitHeaders writes the state of the decision's bucket in the
// headers of draft-ietf-httpapi-ratelimit-headers: the burst, the requests
// left, and the seconds until the bucket is full again.
//
// The keys are assigned in their canonical form ("Ratelimit-…"; HTTP
// header names are case-insensitive) rather than through Header.Set, which
// would allocate to canonicalize "RateLimit-…" on every answer.
func setRateLimitHeaders(h http.Header, d limit.Decision) {
	h["Ratelimit-Limit"] = []string{strconv.Itoa(d.Policy.Burst)}
	h["Ratelimit-Remaining"] = []string{strconv.Itoa(max(0, d.Remaining))}
	reset := 0
	if d.Reset > 0 {
		reset = limit.RetryAfterSeconds(d.Reset)
	}
	h["Ratelimit-Reset"] = []string{strconv.Itoa(reset)}
}

// writeRateLimited answers 429 RATE_LIMITED with Retry-After and a message
// naming the limit.
func writeRateLimited(w http.ResponseWriter, env Environment, d limit.Decision) {
	retry := limit.RetryAfterSeconds(d.RetryAfter)
	setRateLimitHeaders(w.Header(), d)
	w.Header().Set("Retry-After", strconv.Itoa(retry))
	per := "per credential"
	if d.Scope == limit.ScopeSandboxAggregate {
		per = "across all sandboxes"
	}
	writeCodedError(w, statusOf(ion.ERATELIMITED), ion.ERATELIMITED,
		fmt.Sprintf("Rate limit exceeded: %s allows %s requests per second (burst %d) %s in %s. Retry after %s.",
			d.Scope, strconv.FormatFloat(d.Policy.RequestsPerSecond, 'g', -1, 64), d.Policy.Burst, per, envLabel(env), seconds(retry)))
}

// codedErrorBody is {"errors": [{"message", "extensions": {"code"}}]} as
// structs: encoding them costs a fraction of the equivalent maps, which
// matters on the paths that turn a flood away (429, shed 503).
type codedErrorBody struct {
	Errors [1]codedErrorItem `json:"errors"`
}

// codedErrorItem's fields are in the order encoding/json writes a map's
// keys, so that the bytes are those of the maps it replaces.
type codedErrorItem struct {
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
	Message string `json:"message"`
}

func writeCodedError(w http.ResponseWriter, status int, code, msg string) {
	var body codedErrorBody
	body.Errors[0].Message, body.Errors[0].Extensions.Code = msg, code
	writeJSON(w, status, &body)
}

func envLabel(env Environment) string {
	if env.Env.Kind == ion.EnvSandbox {
		return fmt.Sprintf("sandbox %q", env.Env.Name)
	}
	return env.Env.Name
}

func seconds(n int) string {
	if n == 1 {
		return "1 second"
	}
	return strconv.Itoa(n) + " seconds"
}

// tokenPaths are the token endpoint's paths relative to an environment's
// base URL (internal/auth serves them).
var tokenPaths = map[string]bool{
	"/realms/api-keys/protocol/openid-connect/token":      true,
	"/auth/realms/api-keys/protocol/openid-connect/token": true,
	"/oauth/token": true,
}

// maxTokenPeekBytes is how much of a token request body is read to find
// its client_id; a real request is a few hundred bytes, and the issuer
// refuses bodies over 64 KiB anyway.
const maxTokenPeekBytes = 64 << 10

// tokenLimited limits the token endpoint per source address and per
// client id. Over the limit it answers 429 with an OAuth error body whose
// error is "slow_down": RFC 8628 registers it for a token endpoint asking
// its client to poll more slowly, which is exactly the meaning here, while
// "invalid_request" would tell the client its request is malformed and
// not worth retrying. Retry-After says when to retry.
//
// The source address is the connection's peer: ionbox does not trust
// X-Forwarded-For, which any client can set.
func (s *Server) tokenLimited(env Environment, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !tokenPaths[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		addr := r.RemoteAddr
		if h, _, err := net.SplitHostPort(addr); err == nil {
			addr = h
		}
		clientID := peekClientID(r)
		d := s.cfg.Limiter.AllowToken(r.Context(), env.Env, clientID, addr)
		setRateLimitHeaders(w.Header(), d)
		if !d.Allowed {
			retry := limit.RetryAfterSeconds(d.RetryAfter)
			w.Header().Set("Retry-After", strconv.Itoa(retry))
			w.Header().Set("Cache-Control", "no-store")
			writeJSON(w, http.StatusTooManyRequests, map[string]string{
				"error": "slow_down",
				"error_description": fmt.Sprintf("Too many token requests: %s allows %s requests per second (burst %d) in %s. Retry after %s; a token is valid for its expires_in, so reuse it instead of asking for a new one per call.",
					d.Scope, strconv.FormatFloat(d.Policy.RequestsPerSecond, 'g', -1, 64), d.Policy.Burst, envLabel(env), seconds(retry)),
			})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// peekClientID finds the client_id of a token request (HTTP Basic, form or
// JSON body) and puts the body back for the issuer to read; "" when there
// is none.
func peekClientID(r *http.Request) string {
	if h := r.Header.Get("Authorization"); len(h) > 6 && strings.EqualFold(h[:6], "Basic ") {
		if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[6:])); err == nil {
			if id, _, ok := strings.Cut(string(b), ":"); ok {
				if v, err := url.QueryUnescape(id); err == nil {
					return v
				}
				return id
			}
		}
	}
	if r.Body == nil {
		return ""
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxTokenPeekBytes))
	r.Body = readCloser{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
	if err != nil {
		return ""
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" {
		var v struct {
			ClientID string `json:"client_id"`
		}
		_ = json.Unmarshal(body, &v)
		return v.ClientID
	}
	q, _ := url.ParseQuery(string(body))
	return q.Get("client_id")
}

// refusedTokens remembers which credential an Authorization header
// authenticated as, for headers the rate limit has refused, so that the
// next request with the same header can be refused before authentication
// (which costs a store lookup) while its credential's bucket is empty. Only
// a header that authenticated is remembered, so no one can make another
// credential's requests refused early. Bounded: cleared when full.
type refusedTokens struct {
	seed maphash.Seed
	mu   sync.Mutex
	m    map[uint64]refusedToken
}

type refusedToken struct {
	env, header, credential string
}

const maxRefusedTokens = 4096

func newRefusedTokens() *refusedTokens {
	return &refusedTokens{seed: maphash.MakeSeed(), m: map[uint64]refusedToken{}}
}

func (t *refusedTokens) remember(env, header, credential string) {
	if header == "" {
		return
	}
	k := maphash.String(t.seed, header)
	t.mu.Lock()
	if len(t.m) >= maxRefusedTokens {
		clear(t.m)
	}
	t.m[k] = refusedToken{env: env, header: header, credential: credential}
	t.mu.Unlock()
}

func (t *refusedTokens) credential(env, header string) (string, bool) {
	if header == "" {
		return "", false
	}
	k := maphash.String(t.seed, header)
	t.mu.Lock()
	e, ok := t.m[k]
	t.mu.Unlock()
	if !ok || e.env != env || e.header != header {
		return "", false
	}
	return e.credential, true
}

type readCloser struct {
	io.Reader
	io.Closer
}
