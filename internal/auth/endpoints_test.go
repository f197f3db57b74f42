package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"

	"github.com/ionbox/ionbox/ion"
)

var tokenPaths = []string{
	"/realms/api-keys/protocol/openid-connect/token",
	"/auth/realms/api-keys/protocol/openid-connect/token",
	"/oauth/token",
}

const (
	bodyInvalidClient = `{"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}`
	formType          = "application/x-www-form-urlencoded"
	jsonType          = "application/json"
)

func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

func TestTokenEndpointIssues(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := b.newAccount(t, ion.ProductionEnvironment)

	encodings := []struct {
		name    string
		request func(t *testing.T, u string) *http.Request
	}{
		{"form", func(t *testing.T, u string) *http.Request {
			return newRequest(t, http.MethodPost, u, formType, formBody(
				"grant_type", "client_credentials", "client_id", a.key.ClientID, "client_secret", a.secret))
		}},
		{"form with audience, as ION's vendor scripts send", func(t *testing.T, u string) *http.Request {
			return newRequest(t, http.MethodPost, u, formType+"; charset=utf-8", formBody(
				"grant_type", "client_credentials", "client_id", a.key.ClientID, "client_secret", a.secret, "audience", "https://api.buildwithion.com"))
		}},
		{"JSON, as ION's 2020 importers send", func(t *testing.T, u string) *http.Request {
			return newRequest(t, http.MethodPost, u, jsonType, jsonBody(t, map[string]string{
				"grant_type": "client_credentials", "client_id": a.key.ClientID, "client_secret": a.secret, "audience": b.prodBase()}))
		}},
		{"HTTP Basic", func(t *testing.T, u string) *http.Request {
			r := newRequest(t, http.MethodPost, u, formType, formBody("grant_type", "client_credentials"))
			r.Header.Set("Authorization", basicAuth(a.key.ClientID, a.secret))
			return r
		}},
		{"HTTP Basic repeating the client id in the body", func(t *testing.T, u string) *http.Request {
			r := newRequest(t, http.MethodPost, u, formType, formBody("grant_type", "client_credentials", "client_id", a.key.ClientID))
			r.Header.Set("Authorization", basicAuth(a.key.ClientID, a.secret))
			return r
		}},
	}
	for _, path := range tokenPaths {
		for _, enc := range encodings {
			t.Run(path+"/"+enc.name, func(t *testing.T) {
				t.Parallel()
				res := do(t, enc.request(t, b.prodBase()+path))
				if res.status != http.StatusOK {
					t.Fatalf("status %d, body %s", res.status, res.body)
				}
				if got := res.header.Get("Cache-Control"); got != "no-store" {
					t.Errorf("Cache-Control = %q, want no-store", got)
				}
				var body map[string]any
				if err := json.Unmarshal([]byte(res.body), &body); err != nil {
					t.Fatal(err)
				}
				token, _ := body["access_token"].(string)
				if token == "" {
					t.Fatalf("no access_token in %s", res.body)
				}
				delete(body, "access_token")
				want := map[string]any{"token_type": "Bearer", "expires_in": float64(3600), "scope": "openid"}
				if d := cmp.Diff(want, body); d != "" {
					t.Errorf("token response (-want +got):\n%s", d)
				}
				actor, err := b.prod.AuthenticateToken(context.Background(), token)
				if err != nil {
					t.Fatalf("AuthenticateToken: %v", err)
				}
				if actor.User.ID != a.user.ID || actor.Organization.ID != a.org.ID || actor.ClientID != a.key.ClientID || actor.Environment != "production" {
					t.Errorf("actor = %+v", actor)
				}
			})
		}
	}
}

func TestTokenEndpointRejects(t *testing.T) {
	t.Parallel()
	b := setup(t)
	good := b.newAccount(t, ion.ProductionEnvironment)

	disabled := b.newAccount(t, ion.ProductionEnvironment)
	off := false
	if _, _, err := b.svc.UpdateAPIKey(b.ctx, disabled.org.ID, disabled.key.ClientID, disabled.key.Etag, &off, false); err != nil {
		t.Fatal(err)
	}
	deactivated := b.newAccount(t, ion.ProductionEnvironment)
	if _, err := b.control.SetUserActive(b.ctx, deactivated.org.ID, deactivated.user.ID, false); err != nil {
		t.Fatal(err)
	}
	form := func(pairs ...string) func(t *testing.T, u string) *http.Request {
		return func(t *testing.T, u string) *http.Request {
			return newRequest(t, http.MethodPost, u, formType, formBody(pairs...))
		}
	}
	creds := func(a account) func(t *testing.T, u string) *http.Request {
		return form("grant_type", "client_credentials", "client_id", a.key.ClientID, "client_secret", a.secret)
	}
	invalidRequest := func(desc string) string {
		return jsonBody(t, map[string]string{"error": "invalid_request", "error_description": desc})
	}

	tests := []struct {
		name       string
		request    func(t *testing.T, u string) *http.Request
		wantStatus int
		wantBody   string
	}{
		{"wrong secret", form("grant_type", "client_credentials", "client_id", good.key.ClientID, "client_secret", good.secret+"x"),
			401, bodyInvalidClient},
		{"secret of another key", form("grant_type", "client_credentials", "client_id", good.key.ClientID, "client_secret", disabled.secret),
			401, bodyInvalidClient},
		{"unknown client", form("grant_type", "client_credentials", "client_id", "9d5aeee2-da60-45ad-ab00-3e50a9ee32ff", "client_secret", good.secret),
			401, bodyInvalidClient},
		{"disabled key", creds(disabled), 401, bodyInvalidClient},
		{"deactivated user", creds(deactivated), 401, bodyInvalidClient},
		{"wrong secret over Basic", func(t *testing.T, u string) *http.Request {
			r := form("grant_type", "client_credentials")(t, u)
			r.Header.Set("Authorization", basicAuth(good.key.ClientID, "nope"))
			return r
		}, 401, bodyInvalidClient},
		{"no grant_type", form("client_id", good.key.ClientID, "client_secret", good.secret),
			400, invalidRequest("Missing grant_type. Send grant_type=client_credentials.")},
		{"empty body", form(), 400, invalidRequest("Missing grant_type. Send grant_type=client_credentials.")},
		{"no client_id", form("grant_type", "client_credentials", "client_secret", good.secret),
			400, invalidRequest("Missing client_id. Send client_id and client_secret in the body, or as HTTP Basic credentials.")},
		{"no client_secret", form("grant_type", "client_credentials", "client_id", good.key.ClientID),
			400, invalidRequest("Missing client_secret. Send client_id and client_secret in the body, or as HTTP Basic credentials.")},
		{"password grant", form("grant_type", "password", "client_id", good.key.ClientID, "client_secret", good.secret, "username", "u", "password", "p"),
			400, `{"error":"unsupported_grant_type","error_description":"Grant type \"password\" is not supported. This endpoint supports grant_type=client_credentials only."}`},
		{"authorization_code grant", form("grant_type", "authorization_code", "code", "x"),
			400, `{"error":"unsupported_grant_type","error_description":"Grant type \"authorization_code\" is not supported. This endpoint supports grant_type=client_credentials only."}`},
		{"unsupported content type", func(t *testing.T, u string) *http.Request {
			return newRequest(t, http.MethodPost, u, "text/plain", "grant_type=client_credentials")
		}, 400, invalidRequest(`Content-Type "text/plain" is not supported. Send the parameters as application/x-www-form-urlencoded or application/json.`)},
		{"JSON that is not an object", func(t *testing.T, u string) *http.Request {
			return newRequest(t, http.MethodPost, u, jsonType, `["client_credentials"]`)
		}, 400, invalidRequest(`The request body is not a JSON object. Send {"grant_type":"client_credentials","client_id":"…","client_secret":"…"}.`)},
		{"JSON number as client_id", func(t *testing.T, u string) *http.Request {
			return newRequest(t, http.MethodPost, u, jsonType, `{"grant_type":"client_credentials","client_id":7,"client_secret":"x"}`)
		}, 400, invalidRequest(`Parameter "client_id" must be a JSON string.`)},
		{"repeated parameter", form("grant_type", "client_credentials", "client_id", good.key.ClientID, "client_id", disabled.key.ClientID, "client_secret", good.secret),
			400, invalidRequest(`Parameter "client_id" is given more than once. Send each parameter once.`)},
		{"Basic and body disagree", func(t *testing.T, u string) *http.Request {
			r := creds(good)(t, u)
			r.Header.Set("Authorization", basicAuth(disabled.key.ClientID, disabled.secret))
			return r
		}, 400, invalidRequest("Client credentials are given both in the Authorization header and in the body, and they differ. Use one of the two.")},
		{"Basic that is not base64", func(t *testing.T, u string) *http.Request {
			r := form("grant_type", "client_credentials")(t, u)
			r.Header.Set("Authorization", "Basic !!!")
			return r
		}, 400, invalidRequest(`The Authorization header is not valid HTTP Basic credentials. Send "Authorization: Basic base64(client_id:client_secret)", or client_id and client_secret in the body.`)},
		{"GET", func(t *testing.T, u string) *http.Request {
			return newRequest(t, http.MethodGet, u+"?grant_type=client_credentials", "", "")
		}, 405, invalidRequest("The token endpoint accepts POST only. Send grant_type=client_credentials, client_id and client_secret as a form body.")},
	}
	for _, path := range tokenPaths {
		for _, tt := range tests {
			t.Run(path+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				res := do(t, tt.request(t, b.prodBase()+path))
				if res.status != tt.wantStatus || res.body != tt.wantBody {
					t.Errorf("got %d %s\nwant %d %s", res.status, res.body, tt.wantStatus, tt.wantBody)
				}
				if ct := res.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
				if cc := res.header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control = %q, want no-store", cc)
				}
			})
		}
	}
}

func TestTokenEndpointBasicFailureNamesScheme(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := b.newAccount(t, ion.ProductionEnvironment)
	r := newRequest(t, http.MethodPost, b.prodBase()+tokenPaths[0], formType, formBody("grant_type", "client_credentials"))
	r.Header.Set("Authorization", basicAuth(a.key.ClientID, "wrong"))
	res := do(t, r)
	if res.status != 401 || res.header.Get("WWW-Authenticate") != `Basic realm="api-keys"` {
		t.Errorf("got %d, WWW-Authenticate %q", res.status, res.header.Get("WWW-Authenticate"))
	}
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tt := range []struct{ name, base string }{
		{"production", b.prodBase()},
		{"sandbox", b.sbxBase()},
	} {
		for _, path := range []string{
			"/realms/api-keys/.well-known/openid-configuration",
			"/auth/realms/api-keys/.well-known/openid-configuration",
			"/.well-known/openid-configuration",
		} {
			t.Run(tt.name+path, func(t *testing.T) {
				t.Parallel()
				var got map[string]any
				getJSON(t, tt.base+path, &got)
				issuer := tt.base + "/realms/api-keys"
				want := map[string]any{
					"issuer":                                issuer,
					"token_endpoint":                        issuer + "/protocol/openid-connect/token",
					"jwks_uri":                              issuer + "/protocol/openid-connect/certs",
					"grant_types_supported":                 []any{"client_credentials"},
					"token_endpoint_auth_methods_supported": []any{"client_secret_post", "client_secret_basic"},
					"id_token_signing_alg_values_supported": []any{"ES256"},
					"scopes_supported":                      []any{"openid"},
					"subject_types_supported":               []any{"public"},
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("discovery (-want +got):\n%s", d)
				}
			})
		}
	}
}

// fetchJWKS reads an issuer's published keys.
func fetchJWKS(t *testing.T, iss *Issuer) (jose.JSONWebKeySet, map[string]any) {
	t.Helper()
	var set jose.JSONWebKeySet
	res := getJSON(t, iss.JWKSURL(), &set)
	var raw map[string]any
	if err := json.Unmarshal([]byte(res.body), &raw); err != nil {
		t.Fatal(err)
	}
	return set, raw
}

func kids(set jose.JSONWebKeySet) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	slices.Sort(out)
	return out
}

func TestJWKSVerifiesIssuedTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := b.newAccount(t, ion.ProductionEnvironment)

	set, raw := fetchJWKS(t, b.prod)
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS has %d keys, want 1: %v", len(set.Keys), raw)
	}
	jwk := raw["keys"].([]any)[0].(map[string]any)
	for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
		if _, ok := jwk[private]; ok {
			t.Errorf("JWKS key carries private member %q", private)
		}
	}
	if jwk["kid"] == "" || jwk["alg"] != "ES256" || jwk["use"] != "sig" || jwk["kty"] != "EC" || jwk["crv"] != "P-256" {
		t.Errorf("JWKS key = %v", jwk)
	}
	if !set.Keys[0].IsPublic() {
		t.Errorf("JWKS key is not public")
	}

	// A token from the HTTP endpoint verifies with the published key alone.
	res := do(t, newRequest(t, http.MethodPost, b.prod.TokenURL(), formType, formBody(
		"grant_type", "client_credentials", "client_id", a.key.ClientID, "client_secret", a.secret)))
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(res.body), &body); err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(body.AccessToken, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	h := tok.Headers[0]
	if h.Algorithm != "ES256" || h.KeyID != set.Keys[0].KeyID || h.ExtraHeaders["typ"] != "at+jwt" {
		t.Errorf("token header = alg %q kid %q typ %v", h.Algorithm, h.KeyID, h.ExtraHeaders["typ"])
	}
	var claims map[string]any
	if err := tok.Claims(set.Keys[0].Key, &claims); err != nil {
		t.Fatalf("token does not verify with the JWKS key: %v", err)
	}
	now := b.clock.Now().Unix()
	for _, name := range []string{"jti"} {
		if s, _ := claims[name].(string); s == "" {
			t.Errorf("claim %s missing", name)
		}
		delete(claims, name)
	}
	want := map[string]any{
		"iss":       b.prodBase() + "/realms/api-keys",
		"aud":       b.prodBase(),
		"sub":       jsonNumberString(a.user.ID),
		"client_id": a.key.ClientID,
		"org_id":    float64(a.org.ID),
		"env":       "production",
		"exp":       float64(now + 3600),
		"iat":       float64(now),
		"nbf":       float64(now),
		"scope":     "openid",
	}
	if d := cmp.Diff(want, claims); d != "" {
		t.Errorf("claims (-want +got):\n%s", d)
	}
}

func jsonNumberString(id ion.ID) string {
	b, _ := json.Marshal(id)
	return string(b)
}

func TestOtherPaths(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := do(t, newRequest(t, http.MethodGet, b.sbxBase()+"/nope", "", ""))
	if res.status != 404 || !strings.Contains(res.body, `"code":"NOT_FOUND"`) || !strings.Contains(res.body, b.sbx.TokenURL()) {
		t.Errorf("got %d %s", res.status, res.body)
	}
	res = do(t, newRequest(t, http.MethodPost, b.prod.JWKSURL(), formType, ""))
	if res.status != 405 || res.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST JWKS: got %d %s", res.status, res.body)
	}
}

func TestTokenEndpointBodyTooLarge(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Through the handler directly: over a socket the server may close the
	// connection before the client has finished sending.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(formBody(
		"grant_type", "client_credentials", "audience", strings.Repeat("a", maxTokenRequestBytes))))
	req.Header.Set("Content-Type", formType)
	b.prod.Handler().ServeHTTP(rec, req)
	want := `{"error":"invalid_request","error_description":"The request body is larger than 65536 bytes. Send only grant_type, client_id, client_secret and audience."}`
	if rec.Code != 400 || rec.Body.String() != want {
		t.Errorf("got %d %s", rec.Code, rec.Body.String())
	}
}
