package auth

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/ionbox/ionbox/ion"
)

func tokenKID(t *testing.T, raw string) string {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Headers[0].KeyID
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a := b.newAccount(t, ion.ProductionEnvironment)
	// A replica started before the rotation, sharing the store.
	replica := b.newService(t)
	replicaProd, _ := b.issuers(t, replica)

	t0 := b.clock.Now()
	before := b.token(t, b.prod, a)
	oldKID := tokenKID(t, before)

	b.clock.Advance(10 * time.Minute) // rotate at t0+10m
	signerProd, _ := b.issuers(t, b.newService(t))
	if err := b.prod.RotateSigningKey(ctx); err != nil {
		t.Fatal(err)
	}
	after := b.token(t, b.prod, a)
	newKID := tokenKID(t, after)
	if newKID == oldKID {
		t.Fatalf("the token after rotation is signed with the old key %q", oldKID)
	}
	set, _ := fetchJWKS(t, b.prod)
	if got, want := kids(set), sortedKIDs(oldKID, newKID); !slices.Equal(got, want) {
		t.Fatalf("JWKS after rotation lists %v, want %v", got, want)
	}

	// Both tokens verify: here, at the replica (which must discover the new
	// key), and at a server started after the rotation (no cache at all).
	fresh := b.newService(t)
	freshProd, _ := b.issuers(t, fresh)
	for name, iss := range map[string]*Issuer{"rotating server": b.prod, "replica": replicaProd, "restarted server": freshProd} {
		for _, tok := range []string{before, after} {
			if _, err := iss.AuthenticateToken(ctx, tok); err != nil {
				t.Errorf("%s: token signed with %s: %v", name, tokenKID(t, tok), err)
			}
		}
	}

	// A replica that has verified nothing since the rotation keeps
	// signing with the old key (still valid everywhere) until it re-reads
	// the store, at most a minute later.
	signerTok := b.token(t, signerProd, a)
	if kid := tokenKID(t, signerTok); kid != oldKID {
		t.Errorf("idle replica signs with %q right after rotation, want the old key %q", kid, oldKID)
	}
	if _, err := b.prod.AuthenticateToken(ctx, signerTok); err != nil {
		t.Errorf("token the idle replica signed with the retired key: %v", err)
	}
	b.clock.Advance(keyRefreshInterval)
	if kid := tokenKID(t, b.token(t, signerProd, a)); kid != newKID {
		t.Errorf("idle replica signs with %q a minute after rotation, want %q", kid, newKID)
	}

	// t0+65m: the old token has expired, but its key stays published until
	// t0+10m (retired) + 1h.
	b.clock.Set(t0.Add(65 * time.Minute))
	_, err := b.prod.AuthenticateToken(ctx, before)
	wantError(t, err, ion.ETOKENEXPIRED, "Token is expired.")
	set, _ = fetchJWKS(t, b.prod)
	if got := kids(set); !slices.Equal(got, sortedKIDs(oldKID, newKID)) {
		t.Errorf("JWKS 55 minutes after rotation lists %v, want both keys", got)
	}

	// t0+70m: the old key is gone from the JWKS and verifies nothing.
	b.clock.Set(t0.Add(70 * time.Minute))
	set, _ = fetchJWKS(t, b.prod)
	if got := kids(set); !slices.Equal(got, []string{newKID}) {
		t.Errorf("JWKS one token lifetime after rotation lists %v, want only %q", got, newKID)
	}
	old := currentKeyByKID(t, b.prod, oldKID)
	late := signES256(t, old.private, goodHeader(oldKID), goodClaims(b.prod, a, b.clock.Now()))
	_, err = b.prod.AuthenticateToken(ctx, late)
	wantError(t, err, ion.EINVALIDTOKEN, `Token key id "`+oldKID+`" is not a signing key of this environment. Its keys are at `+b.prod.JWKSURL()+".")
	if _, err := b.prod.AuthenticateToken(ctx, b.token(t, b.prod, a)); err != nil {
		t.Errorf("a token signed with the new key: %v", err)
	}
}

func sortedKIDs(k ...string) []string {
	slices.Sort(k)
	return k
}

// currentKeyByKID finds a key the issuer has loaded, retired or not.
func currentKeyByKID(t *testing.T, iss *Issuer, kid string) signingKey {
	t.Helper()
	iss.keysMu.RLock()
	defer iss.keysMu.RUnlock()
	for _, k := range iss.keys {
		if k.kid == kid {
			return k
		}
	}
	t.Fatalf("key %q not loaded", kid)
	return signingKey{}
}

// Requests racing to create an environment's issuer get one issuer and
// one signing key; asking again (even with a trailing slash) changes nothing.
func TestIssuerCreatesOneKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	env := ion.Environment{Name: "race-sbx", Kind: ion.EnvSandbox}
	base := b.srv.URL + "/sandboxes/race-sbx"
	got := make([]*Issuer, 8)
	var wg sync.WaitGroup
	for n := range got {
		wg.Go(func() {
			iss, err := b.svc.Issuer(b.ctx, env, base)
			if err != nil {
				t.Error(err)
			}
			got[n] = iss
		})
	}
	wg.Wait()
	again, err := b.svc.Issuer(b.ctx, env, base+"/")
	if err != nil {
		t.Fatal(err)
	}
	for _, iss := range append(got, again) {
		if iss != got[0] {
			t.Fatal("Issuer returned different issuers for one environment")
		}
	}
	keys, err := b.control.SigningKeys(b.ctx, env.Name)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].Algorithm != "ES256" || keys[0].RetiredAt != nil {
		t.Errorf("stored keys = %+v, want one current ES256 key", keys)
	}
}

// A signing key made before the issuer exists (as sandbox provisioning
// does) is the one the issuer signs with.
func TestCreateSigningKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	env := ion.Environment{Name: "prepared-sbx", Kind: ion.EnvSandbox}
	if _, err := b.control.EnsureEnvironment(b.ctx, env); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.CreateSigningKey(b.ctx, env.Name); err != nil {
		t.Fatalf("CreateSigningKey: %v", err)
	}
	keys, err := b.control.SigningKeys(b.ctx, env.Name)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].RetiredAt != nil {
		t.Fatalf("stored keys after CreateSigningKey = %+v, want one current key", keys)
	}
	iss, err := b.svc.Issuer(b.ctx, env, b.srv.URL+"/sandboxes/prepared-sbx")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := iss.currentSigningKey(b.ctx); err != nil || got.kid != keys[0].KID {
		t.Fatalf("the issuer signs with key %q (%v), want the prepared %q", got.kid, err, keys[0].KID)
	}
	if again, _ := b.control.SigningKeys(b.ctx, env.Name); len(again) != 1 {
		t.Fatalf("the issuer added a key to the one made before: %+v", again)
	}
	if err := b.svc.CreateSigningKey(b.ctx, "no-such-env"); err == nil {
		t.Fatal("CreateSigningKey of an unknown environment succeeded")
	}
}
