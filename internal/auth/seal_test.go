package auth

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// TestSigningKeysStoredSealed: the control store holds no private key in
// the clear; a replica with the same hash key reads them; one with another
// hash key is refused with an error that says what to do; a key stored
// before sealing is still read.
func TestSigningKeysStoredSealed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := b.newAccount(t, ion.ProductionEnvironment)
	tok := b.token(t, b.prod, a)

	stored, err := b.control.SigningKeys(b.ctx, ion.ProductionEnvironment)
	if err != nil || len(stored) == 0 {
		t.Fatalf("signing keys: %v, %d", err, len(stored))
	}
	for _, k := range stored {
		if !bytes.HasPrefix(k.PrivateJWK, []byte(sealPrefix)) || bytes.Contains(k.PrivateJWK, []byte(`"d"`)) || json.Valid(k.PrivateJWK) {
			t.Fatalf("signing key %q stored as %q, want it sealed", k.KID, k.PrivateJWK)
		}
	}

	// The same hash key (a replica, a restart): the token verifies.
	replica := b.newService(t)
	prod, _ := b.issuers(t, replica)
	if _, err := prod.AuthenticateToken(b.ctx, tok); err != nil {
		t.Fatalf("a replica with the same hash key: %v", err)
	}

	// Another hash key: refused, saying why.
	other, err := New(Config{Control: b.control, HashKey: bytes.Repeat([]byte("x"), 32), Now: b.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	_, err = other.Issuer(b.ctx, b.prodEnv, b.prodBase())
	if err == nil || !strings.Contains(err.Error(), "hash key") {
		t.Fatalf("another hash key: %v, want an error about the hash key", err)
	}

	// A key stored before sealing (plain JSON) is still read.
	svc := b.newService(t)
	plain, err := svc.openKey(stored[0].KID, stored[0].PrivateJWK)
	if err != nil {
		t.Fatal(err)
	}
	legacy := ion.SigningKey{KID: "legacy-key", Environment: ion.ProductionEnvironment, Algorithm: stored[0].Algorithm,
		PrivateJWK: bytes.Replace(plain, []byte(stored[0].KID), []byte("legacy-key"), 1), CreatedAt: b.clock.Now().Add(time.Second)}
	keys, err := svc.parseSigningKeys([]ion.SigningKey{legacy, stored[0]})
	if err != nil || len(keys) != 2 || keys[0].kid != "legacy-key" {
		t.Fatalf("a plain stored key with a sealed one: %v, %+v", err, keys)
	}
	// A sealed key moved under another kid does not open: the kid is bound.
	moved := stored[0]
	moved.KID = "moved"
	if _, err := svc.parseSigningKeys([]ion.SigningKey{moved}); err == nil {
		t.Fatal("a sealed key opened under another kid")
	}
}
