package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeION is an httptest server shaped like one ionbox environment: the
// discovery document, a token endpoint and a scripted /graphql.
type fakeION struct {
	srv         *httptest.Server
	kind        string
	tokenCalls  atomic.Int32
	gqlCalls    atomic.Int32
	mu          sync.Mutex
	idemKeys    []string
	authHeaders []string
	// graphql answers the n-th (0-based) /graphql request.
	graphql func(n int, w http.ResponseWriter, r *http.Request)
}

func newFakeION(t *testing.T, kind string, graphql func(n int, w http.ResponseWriter, r *http.Request)) *fakeION {
	t.Helper()
	f := &fakeION{kind: kind, graphql: graphql}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/ion-environment", func(w http.ResponseWriter, r *http.Request) {
		name := "production"
		if kind == KindSandbox {
			name = "acme-erp-dev"
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"kind": kind, "name": name, "baseUrl": f.srv.URL, "issuer": f.srv.URL + "/realms/api-keys", "features": []string{}})
	})
	mux.HandleFunc("POST /realms/api-keys/protocol/openid-connect/token", func(w http.ResponseWriter, r *http.Request) {
		n := f.tokenCalls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if r.FormValue("client_secret") == "wrong" {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}`)
			return
		}
		fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":3600}`, n)
	})
	mux.HandleFunc("POST /graphql", func(w http.ResponseWriter, r *http.Request) {
		n := int(f.gqlCalls.Add(1)) - 1
		f.mu.Lock()
		f.idemKeys = append(f.idemKeys, r.Header.Get("Idempotency-Key"))
		f.authHeaders = append(f.authHeaders, r.Header.Get("Authorization"))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		f.graphql(n, w, r)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func okData(w http.ResponseWriter) { fmt.Fprint(w, `{"data":{"currentUser":{"id":1,"name":"Ada"}}}`) }

func (f *fakeION) client(t *testing.T, secret string, opts ...Option) (*Client, *FakeClock) {
	t.Helper()
	clk := NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c, err := New(Config{BaseURL: f.srv.URL, ClientID: "id-1", ClientSecret: secret}, append([]Option{WithClock(clk)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, clk
}

func TestFromEnvConventions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		env        map[string]string
		wantErr    string
		wantBase   string
		wantID     string
		wantToken  string
		wantSecret string
	}{
		{name: "plain client credentials", env: map[string]string{"ION_BASE_URL": "http://a", "ION_CLIENT_ID": "i", "ION_CLIENT_SECRET": "ion_prod_x"}, wantBase: "http://a", wantID: "i", wantSecret: "ion_prod_x"},
		{name: "plain token", env: map[string]string{"ION_BASE_URL": "http://a/", "ION_TOKEN": "t"}, wantBase: "http://a", wantToken: "t"},
		{name: "sandbox prefix", env: map[string]string{"ION_ENV": "sandbox", "ION_BASE_URL": "http://prod", "ION_CLIENT_ID": "p", "ION_CLIENT_SECRET": "ion_prod_p",
			"ION_SANDBOX_BASE_URL": "http://sbx", "ION_SANDBOX_CLIENT_ID": "s", "ION_SANDBOX_CLIENT_SECRET": "ion_sbx_s"}, wantBase: "http://sbx", wantID: "s", wantSecret: "ion_sbx_s"},
		{name: "prod prefix", env: map[string]string{"ION_ENV": "prod", "ION_PROD_BASE_URL": "http://prod", "ION_PROD_TOKEN": "pt"}, wantBase: "http://prod", wantToken: "pt"},
		{name: "sandbox never falls back to unprefixed", env: map[string]string{"ION_ENV": "sandbox", "ION_BASE_URL": "http://prod", "ION_TOKEN": "t"}, wantErr: "ION_SANDBOX_BASE_URL is not set"},
		{name: "missing base", env: map[string]string{"ION_TOKEN": "t"}, wantErr: "ION_BASE_URL is not set"},
		{name: "missing credential", env: map[string]string{"ION_BASE_URL": "http://a"}, wantErr: "set ION_CLIENT_ID and ION_CLIENT_SECRET, or ION_TOKEN"},
		{name: "missing secret", env: map[string]string{"ION_ENV": "prod", "ION_PROD_BASE_URL": "http://a", "ION_PROD_CLIENT_ID": "i"}, wantErr: "ION_PROD_CLIENT_SECRET is not set"},
		{name: "missing id", env: map[string]string{"ION_BASE_URL": "http://a", "ION_CLIENT_SECRET": "s"}, wantErr: "ION_CLIENT_ID is not set"},
		{name: "bad ION_ENV", env: map[string]string{"ION_ENV": "staging"}, wantErr: `ION_ENV="staging"`},
		{name: "bad scheme", env: map[string]string{"ION_BASE_URL": "localhost:8080", "ION_TOKEN": "t"}, wantErr: "must start with http://"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := fromLookup(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.cfg.BaseURL != tc.wantBase || c.cfg.ClientID != tc.wantID || c.cfg.ClientSecret != tc.wantSecret || c.cfg.Token != tc.wantToken {
				t.Fatalf("config = %+v", c.cfg)
			}
		})
	}
}

func TestCredentialKindGuardSendsNothing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind, secret string
		wantErr      string
	}{
		{KindSandbox, "ion_prod_abc", `This client secret is a production secret (ion_prod_…); %s is sandbox "acme-erp-dev". Use this sandbox's credentials.`},
		{KindProduction, "ion_sbx_abc", `This client secret is a sandbox secret (ion_sbx_…); %s is environment "production". Use production credentials.`},
		{KindProduction, "ion_prod_abc", ""},
		{KindSandbox, "ion_sbx_abc", ""},
	} {
		t.Run(tc.kind+"/"+tc.secret, func(t *testing.T) {
			t.Parallel()
			f := newFakeION(t, tc.kind, func(n int, w http.ResponseWriter, r *http.Request) { okData(w) })
			c, _ := f.client(t, tc.secret)
			_, err := c.CurrentUser(context.Background())
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			want := fmt.Sprintf(tc.wantErr, f.srv.URL)
			var e *Error
			if !errors.Is(err, ErrEnvironmentMismatch) || !errors.As(err, &e) || e.Message != want {
				t.Fatalf("err = %v\nwant message %q", err, want)
			}
			if f.tokenCalls.Load() != 0 || f.gqlCalls.Load() != 0 {
				t.Fatalf("sent %d token and %d graphql requests before refusing", f.tokenCalls.Load(), f.gqlCalls.Load())
			}
		})
	}
}

func TestRetriesHonourRetryAfter(t *testing.T) {
	t.Parallel()
	f := newFakeION(t, KindSandbox, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 0:
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(429)
			fmt.Fprint(w, `{"errors":[{"message":"slow down","extensions":{"code":"RATE_LIMITED"}}]}`)
		case 1:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(503)
			fmt.Fprint(w, `{"errors":[{"message":"resetting","extensions":{"code":"SANDBOX_RESETTING"}}]}`)
		default:
			okData(w)
		}
	})
	c, clk := f.client(t, "ion_sbx_x")
	u, err := c.CurrentUser(context.Background())
	if err != nil || u.Name != "Ada" {
		t.Fatalf("CurrentUser = %v, %v", u, err)
	}
	if got := clk.SleepLog(); len(got) != 2 || got[0] != 3*time.Second || got[1] != time.Second {
		t.Fatalf("sleeps = %v, want [3s 1s]", got)
	}
}

func TestBackoffWithoutRetryAfterThenGivesUp(t *testing.T) {
	t.Parallel()
	f := newFakeION(t, KindSandbox, func(n int, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(429)
		fmt.Fprint(w, `{"errors":[{"message":"slow down","extensions":{"code":"RATE_LIMITED"}}]}`)
	})
	c, clk := f.client(t, "ion_sbx_x", WithRetries(3, 100*time.Millisecond, 250*time.Millisecond))
	_, err := c.CurrentUser(context.Background())
	if !errors.Is(err, ErrRateLimited) {
		t.Fatalf("err = %v, want ErrRateLimited", err)
	}
	sleeps := clk.SleepLog()
	bounds := [][2]time.Duration{{50, 100}, {100, 200}, {125, 250}} // ms: base·2^n capped, equal jitter
	if len(sleeps) != 3 || f.gqlCalls.Load() != 4 {
		t.Fatalf("sleeps %v after %d calls, want 3 sleeps and 4 calls", sleeps, f.gqlCalls.Load())
	}
	for i, s := range sleeps {
		if s < bounds[i][0]*time.Millisecond || s > bounds[i][1]*time.Millisecond {
			t.Errorf("sleep %d = %v, want within %v ms", i, s, bounds[i])
		}
	}
}

func TestNetworkErrorRetried(t *testing.T) {
	t.Parallel()
	f := newFakeION(t, KindSandbox, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		okData(w)
	})
	c, _ := f.client(t, "ion_sbx_x")
	if _, err := c.CurrentUser(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.gqlCalls.Load() != 2 {
		t.Fatalf("graphql calls = %d, want 2", f.gqlCalls.Load())
	}
}

func TestMutationsCarryOneIdempotencyKeyAcrossRetries(t *testing.T) {
	t.Parallel()
	f := newFakeION(t, KindSandbox, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(503)
			return
		}
		fmt.Fprint(w, `{"data":{"createPart":{"part":{"id":7,"partNumber":"P-1","revision":"A"}}}}`)
	})
	c, _ := f.client(t, "ion_sbx_x")
	p, err := c.CreatePart(context.Background(), CreatePartInput{PartNumber: "P-1"})
	if err != nil || p.ID != 7 {
		t.Fatalf("CreatePart = %+v, %v", p, err)
	}
	if _, err := c.CreatePart(context.Background(), CreatePartInput{PartNumber: "P-1"}); err != nil {
		t.Fatal(err)
	}
	k := f.idemKeys
	if len(k) != 3 || k[0] == "" || k[0] != k[1] || k[2] == k[0] || len(k[0]) != 32 {
		t.Fatalf("Idempotency-Key per request = %q: want one key reused by the retry, a new one for the next call", k)
	}
	// Queries carry none.
	if _, err := c.CurrentUser(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.idemKeys[3] != "" {
		t.Fatalf("a query carried Idempotency-Key %q", f.idemKeys[3])
	}
}

func TestMutationWithoutIdempotencyKeyIsNotRetried(t *testing.T) {
	t.Parallel()
	f := newFakeION(t, KindSandbox, func(n int, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
	})
	c, _ := f.client(t, "ion_sbx_x", func(c *Config) { c.DisableIdempotencyKeys = true })
	_, err := c.CreatePart(context.Background(), CreatePartInput{PartNumber: "P-1"})
	if !errors.Is(err, ErrUnavailable) || f.gqlCalls.Load() != 1 || f.idemKeys[0] != "" {
		t.Fatalf("err = %v after %d calls (key %q), want one call and ErrUnavailable", err, f.gqlCalls.Load(), f.idemKeys[0])
	}
}

func TestProductionGuard(t *testing.T) {
	t.Parallel()
	const cancel = `mutation Cancel($input: CancelRunsInput!) { cancelRuns(input: $input) { count } }`
	const adjust = `# bulk
mutation { a: adjustPartInventories(input: {adjustments: []}) { partInventories { id } } }`
	for _, tc := range []struct {
		name  string
		kind  string
		query string
		opts  []Option
		want  error
	}{
		{"cancelRuns on production", KindProduction, cancel, nil, ErrProductionWrite},
		{"aliased adjust on production", KindProduction, adjust, nil, ErrProductionWrite},
		{"opted in", KindProduction, cancel, []Option{AllowProductionWrites()}, nil},
		{"sandbox", KindSandbox, cancel, nil, nil},
		{"ordinary mutation on production", KindProduction, `mutation { createPart(input: {partNumber: "cancelRuns"}) { part { id } } }`, nil, nil},
		{"custom guard", KindSandbox, `mutation { createPart(input: {partNumber: "x"}) { part { id } } }`,
			[]Option{WithWriteGuard(func(_ context.Context, op Operation) error { return errors.New("read-only window") })}, errors.New("read-only window")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeION(t, tc.kind, func(n int, w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"data":{}}`) })
			secret := "ion_prod_x"
			if tc.kind == KindSandbox {
				secret = "ion_sbx_x"
			}
			c, _ := f.client(t, secret, tc.opts...)
			err := c.Do(context.Background(), tc.query, nil, nil)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("err = %v, want nil", err)
			case tc.want != nil && (err == nil || (!errors.Is(err, tc.want) && err.Error() != tc.want.Error())):
				t.Fatalf("err = %v, want %v", err, tc.want)
			case tc.want != nil && f.gqlCalls.Load() != 0:
				t.Fatalf("a refused mutation was sent")
			}
		})
	}
}

func TestParseOperation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		q        string
		mutation bool
		fields   []string
	}{
		{`{ parts { edges { node { id } } } }`, false, []string{"parts"}},
		{`query Q($a: Int) { a: parts(first: $a) { pageInfo { count } } currentUser { id } }`, false, []string{"parts", "currentUser"}},
		{`mutation M { createPart(input: {partNumber: "x { y }"}) { part { id } } deletePart(id: 1, etag: "e") { id } }`, true, []string{"createPart", "deletePart"}},
		{"# mutation in a comment\nquery { me { id } }", false, []string{"me"}},
		{`fragment F on Run { id } mutation C($i: CancelRunsInput!) { cancelRuns(input: $i) { runs { ...F } } }`, true, []string{"cancelRuns"}},
		{`query A { parts { pageInfo { count } } } mutation B { cancelRuns(input: {ids: [1]}) { count } }`, true, []string{"parts", "cancelRuns"}},
	} {
		m, f := parseOperation(tc.q)
		if m != tc.mutation || strings.Join(f, ",") != strings.Join(tc.fields, ",") {
			t.Errorf("parseOperation(%q) = %v %v, want %v %v", tc.q, m, f, tc.mutation, tc.fields)
		}
	}
}

func TestTokenCachedAndRefreshedBeforeExpiry(t *testing.T) {
	t.Parallel()
	f := newFakeION(t, KindSandbox, func(n int, w http.ResponseWriter, r *http.Request) { okData(w) })
	c, clk := f.client(t, "ion_sbx_x")
	ctx := context.Background()
	for range 3 {
		if _, err := c.CurrentUser(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if f.tokenCalls.Load() != 1 {
		t.Fatalf("token calls = %d, want 1 (cached)", f.tokenCalls.Load())
	}
	clk.Advance(3600*time.Second - 59*time.Second) // inside the 60 s refresh window
	if _, err := c.CurrentUser(ctx); err != nil {
		t.Fatal(err)
	}
	if f.tokenCalls.Load() != 2 || f.authHeaders[3] != "Bearer tok-2" {
		t.Fatalf("token calls = %d, last Authorization %q: want a fresh token before expiry", f.tokenCalls.Load(), f.authHeaders[3])
	}
}

func TestTokenExpiredAnswerRefreshesOnce(t *testing.T) {
	t.Parallel()
	f := newFakeION(t, KindSandbox, func(n int, w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer tok-1" {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"errors":[{"message":"Token is expired.","extensions":{"code":"TOKEN_EXPIRED"}}]}`)
			return
		}
		okData(w)
	})
	c, _ := f.client(t, "ion_sbx_x")
	if _, err := c.CurrentUser(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.tokenCalls.Load() != 2 {
		t.Fatalf("token calls = %d, want 2", f.tokenCalls.Load())
	}
}

func TestErrorsAreTyped(t *testing.T) {
	t.Parallel()
	f := newFakeION(t, KindSandbox, func(n int, w http.ResponseWriter, r *http.Request) {
		codes := []string{"NOT_FOUND", "CONFLICT", "VALIDATION_ERROR", "FORBIDDEN"}
		fmt.Fprintf(w, `{"data":{"part":null},"errors":[{"message":"m%d","path":["part"],"extensions":{"code":%q}}]}`, n, codes[n])
	})
	c, _ := f.client(t, "ion_sbx_x")
	for i, want := range []error{ErrNotFound, ErrConflict, ErrValidation, ErrForbidden} {
		err := c.Do(context.Background(), `{ part(id: 1) { id } }`, nil, nil)
		var e *Error
		if !errors.Is(err, want) || !errors.As(err, &e) || e.Message != fmt.Sprintf("m%d", i) || e.Status != 200 || fmt.Sprint(e.Path) != "[part]" {
			t.Errorf("call %d: err = %#v, want %v", i, err, want)
		}
	}
	// A refused client credential is an *Error too.
	bad, _ := f.client(t, "wrong")
	_, err := bad.CurrentUser(context.Background())
	var e *Error
	if !errors.Is(err, ErrUnauthenticated) || !errors.As(err, &e) || e.Message != "Invalid client or Invalid client credentials" || e.Status != 401 {
		t.Fatalf("bad credential: %#v", err)
	}
}

func TestRamp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		start, target float64
		dur           time.Duration
		writes        int
		wantWaits     []time.Duration
	}{
		{"flat", 2, 2, 0, 4, []time.Duration{0, 500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond}},
		// 1/s at t=0, 2/s at t=1s (halfway through a 2 s ramp to 3/s), 2.5/s at t=1.5s.
		{"linear", 1, 3, 2 * time.Second, 4, []time.Duration{0, time.Second, 500 * time.Millisecond, 400 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := NewFakeClock(time.Unix(0, 0))
			r := NewRamp(tc.start, tc.target, tc.dur, clk)
			var got []time.Duration
			for range tc.writes {
				w := r.Reserve()
				got = append(got, w)
				_ = clk.Sleep(context.Background(), w)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.wantWaits) {
				t.Fatalf("waits = %v, want %v", got, tc.wantWaits)
			}
		})
	}
}

func TestBreaker(t *testing.T) {
	t.Parallel()
	type step struct {
		advance   time.Duration
		record    *bool // nil: only check
		wantState BreakerState
	}
	fail, ok := true, false
	for _, tc := range []struct {
		name      string
		cfg       BreakerConfig
		steps     []step
		wantOpens int
		wantClose int
	}{
		{"stays closed below min requests", BreakerConfig{MinRequests: 4, Threshold: 0.5},
			[]step{{0, &fail, BreakerClosed}, {0, &fail, BreakerClosed}, {0, &fail, BreakerClosed}}, 0, 0},
		{"opens at threshold, half-opens after cooldown, closes on success", BreakerConfig{MinRequests: 4, Threshold: 0.5, Cooldown: 10 * time.Second},
			[]step{{0, &ok, BreakerClosed}, {0, &ok, BreakerClosed}, {0, &fail, BreakerClosed}, {0, &fail, BreakerOpen},
				{9 * time.Second, nil, BreakerOpen}, {time.Second, nil, BreakerHalfOpen}, {0, &ok, BreakerClosed}}, 1, 1},
		{"failed probe reopens", BreakerConfig{MinRequests: 2, Threshold: 1, Cooldown: time.Second},
			[]step{{0, &fail, BreakerClosed}, {0, &fail, BreakerOpen}, {time.Second, nil, BreakerHalfOpen}, {0, &fail, BreakerOpen}}, 2, 0},
		{"old outcomes leave the window", BreakerConfig{MinRequests: 3, Threshold: 0.6, Window: 5 * time.Second},
			[]step{{0, &fail, BreakerClosed}, {0, &fail, BreakerClosed}, {6 * time.Second, &ok, BreakerClosed}, {0, &fail, BreakerClosed}}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := NewFakeClock(time.Unix(0, 0))
			opens, closes := 0, 0
			cfg := tc.cfg
			cfg.Clock = clk
			cfg.OnOpen = func(float64) { opens++ }
			cfg.OnClose = func() { closes++ }
			b := NewBreaker(cfg)
			for i, s := range tc.steps {
				clk.Advance(s.advance)
				if s.record != nil {
					b.Record(*s.record)
				}
				if got := b.State(); got != s.wantState {
					t.Fatalf("step %d: state %s, want %s", i, got, s.wantState)
				}
			}
			if opens != tc.wantOpens || closes != tc.wantClose {
				t.Fatalf("OnOpen %d times, OnClose %d times; want %d and %d", opens, closes, tc.wantOpens, tc.wantClose)
			}
		})
	}
}

// TestBreakerPausesWrites: once open, the next mutation waits out the
// cooldown on the client's clock before it is sent.
func TestBreakerPausesWrites(t *testing.T) {
	t.Parallel()
	f := newFakeION(t, KindSandbox, func(n int, w http.ResponseWriter, r *http.Request) {
		if n < 2 {
			fmt.Fprint(w, `{"errors":[{"message":"bad","extensions":{"code":"VALIDATION_ERROR"}}]}`)
			return
		}
		fmt.Fprint(w, `{"data":{"createPart":{"part":{"id":1}}}}`)
	})
	var opened, closed atomic.Int32
	b := NewBreaker(BreakerConfig{MinRequests: 2, Threshold: 1, Cooldown: 30 * time.Second,
		OnOpen: func(float64) { opened.Add(1) }, OnClose: func() { closed.Add(1) }})
	c, clk := f.client(t, "ion_sbx_x", WithBreaker(b))
	ctx := context.Background()
	for range 2 {
		if _, err := c.CreatePart(ctx, CreatePartInput{PartNumber: "x"}); !errors.Is(err, ErrValidation) {
			t.Fatalf("err = %v", err)
		}
	}
	if opened.Load() != 1 {
		t.Fatal("breaker did not open")
	}
	if _, err := c.CreatePart(ctx, CreatePartInput{PartNumber: "x"}); err != nil {
		t.Fatal(err)
	}
	if got := clk.SleepLog(); len(got) != 1 || got[0] != 30*time.Second || closed.Load() != 1 {
		t.Fatalf("sleeps %v, closed %d: want one 30 s pause then close", got, closed.Load())
	}
}
