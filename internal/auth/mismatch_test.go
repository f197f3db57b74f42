package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"testing"
	"time"

	"github.com/ionbox/ionbox/ion"
)

func unauthorizedClient(t *testing.T, desc string) string {
	return jsonBody(t, map[string]string{"error": "unauthorized_client", "error_description": desc})
}

func TestEnvironmentMismatchAtTokenEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t)
	partnerEnv := ion.Environment{Name: "partner-qa", Kind: ion.EnvSandbox}
	if _, err := b.svc.Issuer(b.ctx, partnerEnv, b.srv.URL+"/sandboxes/partner-qa"); err != nil {
		t.Fatal(err)
	}
	prod := b.newAccount(t, ion.ProductionEnvironment)
	sbx := b.newAccount(t, sandboxName)
	partner := b.newAccount(t, "partner-qa")

	tests := []struct {
		name         string
		at           *Issuer
		clientID     string
		clientSecret string
		wantDesc     string
	}{
		{"production credentials at the sandbox", b.sbx, prod.key.ClientID, prod.secret,
			`This client secret was issued by environment "production"; this is sandbox "acme-erp-dev". Use this sandbox's credentials.`},
		{"sandbox credentials at production", b.prod, sbx.key.ClientID, sbx.secret,
			`This client secret was issued by sandbox "acme-erp-dev"; this is environment "production". Use production credentials.`},
		{"a production secret with an unknown client id at the sandbox", b.sbx, "9d5aeee2-da60-45ad-ab00-3e50a9ee32ff", prod.secret,
			`This client secret was issued by environment "production"; this is sandbox "acme-erp-dev". Use this sandbox's credentials.`},
		{"a sandbox secret with an unknown client id at production", b.prod, "9d5aeee2-da60-45ad-ab00-3e50a9ee32ff", sbx.secret,
			`This client secret was issued by a sandbox; this is environment "production". Use production credentials.`},
		{"a sandbox secret with a production client id at production", b.prod, prod.key.ClientID, sbx.secret,
			`This client secret was issued by a sandbox; this is environment "production". Use production credentials.`},
		{"a production client id with the sandbox's secret at the sandbox", b.sbx, prod.key.ClientID, sbx.secret,
			`This client id was issued by environment "production"; this is sandbox "acme-erp-dev". Use this sandbox's credentials.`},
		{"another sandbox's credentials", b.sbx, partner.key.ClientID, partner.secret,
			`This client id was issued by sandbox "partner-qa"; this is sandbox "acme-erp-dev". Use this sandbox's credentials.`},
		{"a sandbox client id with a prefixless secret at production", b.prod, sbx.key.ClientID, "hunter2",
			`This client id was issued by sandbox "acme-erp-dev"; this is environment "production". Use production credentials.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := do(t, newRequest(t, http.MethodPost, tt.at.TokenURL(), formType, formBody(
				"grant_type", "client_credentials", "client_id", tt.clientID, "client_secret", tt.clientSecret)))
			if want := unauthorizedClient(t, tt.wantDesc); res.status != 401 || res.body != want {
				t.Errorf("got %d %s\nwant 401 %s", res.status, res.body, want)
			}
			_, err := tt.at.ClientCredentialsToken(b.ctx, tt.clientID, tt.clientSecret)
			wantError(t, err, ion.EENVMISMATCH, tt.wantDesc)
		})
	}
	// Each environment's own credentials still work at home.
	for _, c := range []struct {
		at *Issuer
		a  account
	}{{b.prod, prod}, {b.sbx, sbx}} {
		if _, err := c.at.ClientCredentialsToken(b.ctx, c.a.key.ClientID, c.a.secret); err != nil {
			t.Errorf("%s at home: %v", c.at.Environment().Name, err)
		}
	}
}

func TestEnvironmentMismatchInAuthenticate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	partnerEnv := ion.Environment{Name: "partner-qa", Kind: ion.EnvSandbox}
	partnerIss, err := b.svc.Issuer(b.ctx, partnerEnv, b.srv.URL+"/sandboxes/partner-qa")
	if err != nil {
		t.Fatal(err)
	}
	prod := b.newAccount(t, ion.ProductionEnvironment)
	sbx := b.newAccount(t, sandboxName)
	partner := b.newAccount(t, "partner-qa")
	prodToken := b.token(t, b.prod, prod)
	sbxToken := b.token(t, b.sbx, sbx)
	partnerToken := b.token(t, partnerIss, partner)

	attacker, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := b.clock.Now()
	prodKID := currentKey(t, b.prod).kid
	forgedProd := signES256(t, attacker, goodHeader(prodKID), goodClaims(b.prod, prod, now))
	expiredProd := signES256(t, currentKey(t, b.prod).private, goodHeader(prodKID),
		with(goodClaims(b.prod, prod, now), "exp", now.Add(-time.Hour).Unix(), "iat", now.Add(-2*time.Hour).Unix()))

	// A restarted server that has so far served only the sandbox: the
	// production issuer is not loaded, but its keys are in the store.
	restarted := b.newService(t)
	restartedSbx, err := restarted.Issuer(b.ctx, b.sbxEnv, b.sbxBase())
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		at       *Issuer
		token    string
		wantCode string
		wantMsg  string
	}{
		{"production token at the sandbox", b.sbx, prodToken, ion.EENVMISMATCH,
			`This token was issued by environment "production"; this is sandbox "acme-erp-dev". Use this sandbox's credentials.`},
		{"sandbox token at production", b.prod, sbxToken, ion.EENVMISMATCH,
			`This token was issued by sandbox "acme-erp-dev"; this is environment "production". Use production credentials.`},
		{"another sandbox's token", b.sbx, partnerToken, ion.EENVMISMATCH,
			`This token was issued by sandbox "partner-qa"; this is sandbox "acme-erp-dev". Use this sandbox's credentials.`},
		{"an expired production token at the sandbox is still a mismatch", b.sbx, expiredProd, ion.EENVMISMATCH,
			`This token was issued by environment "production"; this is sandbox "acme-erp-dev". Use this sandbox's credentials.`},
		{"a forgery claiming production's issuer", b.sbx, forgedProd, ion.EINVALIDTOKEN, "Token signature is invalid."},
		{"production token at a restarted sandbox issuer", restartedSbx, prodToken, ion.EENVMISMATCH,
			`This token was issued by environment "production"; this is sandbox "acme-erp-dev". Use this sandbox's credentials.`},
		{"a forgery at a restarted sandbox issuer", restartedSbx, forgedProd, ion.EINVALIDTOKEN,
			`Token issuer "` + b.prod.IssuerURL() + `" is not this environment's issuer "` + b.sbx.IssuerURL() + `".`},
		{"control: the sandbox token at the sandbox", b.sbx, sbxToken, "", ""},
		{"control: the production token at production", b.prod, prodToken, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			actor, err := tt.at.Authenticate(authRequest("Bearer " + tt.token))
			if tt.wantCode == "" {
				if err != nil || actor.Environment != tt.at.Environment().Name {
					t.Fatalf("Authenticate: %+v, %v", actor, err)
				}
				return
			}
			wantError(t, err, tt.wantCode, tt.wantMsg)
		})
	}
}

// Once an environment is forgotten and gone from the store, its tokens are
// no longer told apart: nobody here can vouch for them.
func TestForget(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sbx := b.newAccount(t, sandboxName)
	tok := b.token(t, b.sbx, sbx)
	b.svc.Forget(sandboxName)
	if _, ok := b.svc.Lookup(sandboxName); ok {
		t.Fatal("Lookup finds a forgotten issuer")
	}
	// The environment is still in the store, so the mismatch is still
	// explained from its stored keys.
	_, err := b.prod.AuthenticateToken(b.ctx, tok)
	wantError(t, err, ion.EENVMISMATCH, `This token was issued by sandbox "acme-erp-dev"; this is environment "production". Use production credentials.`)
	// Registering again returns a fresh issuer that accepts its old tokens.
	again, err := b.svc.Issuer(b.ctx, b.sbxEnv, b.sbxBase())
	if err != nil {
		t.Fatal(err)
	}
	if again == b.sbx {
		t.Fatal("Issuer after Forget returned the forgotten issuer")
	}
	if _, err := again.AuthenticateToken(b.ctx, tok); err != nil {
		t.Fatal(err)
	}
}
