package auth

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// Signing keys' private parts are stored sealed: AES-256-GCM under a key
// derived from Config.HashKey, with the key id as associated data. A copy
// of the control database (a PostgreSQL dump, a backup of control.db)
// then does not let anyone mint tokens; the server secret, kept apart from
// the database (hash.key, --hash-key), is needed too.

// sealPrefix starts a sealed private JWK; what follows is base64 of the
// nonce and the ciphertext. Keys stored before sealing are plain JSON and
// still read.
const sealPrefix = "ionbox-sealed-v1:"

// sealLabel separates the sealing key from the other uses of HashKey.
const sealLabel = "ionbox signing-key seal v1"

func (s *Service) sealer() (cipher.AEAD, error) {
	m := hmac.New(sha256.New, s.cfg.HashKey)
	m.Write([]byte(sealLabel))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealKey seals the private JWK of key kid for storage.
func (s *Service) sealKey(kid string, jwk []byte) ([]byte, error) {
	aead, err := s.sealer()
	if err != nil {
		return nil, fmt.Errorf("sealing signing key %q: %w", kid, err)
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(jwk)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("sealing signing key %q: %w", kid, err)
	}
	sealed := aead.Seal(nonce, nonce, jwk, []byte(kid))
	return append([]byte(sealPrefix), base64.RawStdEncoding.EncodeToString(sealed)...), nil
}

// errWrongHashKey says what to do when a sealed key does not open.
var errWrongHashKey = errors.New("it does not open with this server's hash key; start the server with the hash key it was stored under (the data directory's hash.key, or the same --hash-key on every replica)")

// openKey returns the private JWK of key kid as stored: opened if sealed,
// as is if stored before sealing.
func (s *Service) openKey(kid string, stored []byte) ([]byte, error) {
	rest, sealed := bytes.CutPrefix(stored, []byte(sealPrefix))
	if !sealed {
		return stored, nil
	}
	raw, err := base64.RawStdEncoding.DecodeString(string(rest))
	if err != nil {
		return nil, fmt.Errorf("signing key %q: the sealed key is damaged: %w", kid, err)
	}
	aead, err := s.sealer()
	if err != nil {
		return nil, fmt.Errorf("signing key %q: %w", kid, err)
	}
	if len(raw) < aead.NonceSize() {
		return nil, fmt.Errorf("signing key %q: the sealed key is damaged (too short)", kid)
	}
	jwk, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(kid))
	if err != nil {
		return nil, fmt.Errorf("signing key %q: %w", kid, errWrongHashKey)
	}
	return jwk, nil
}
