package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/ionbox/ionbox/ion"
)

// maxTokenRequestBytes bounds a token request body; a real one is a few
// hundred bytes.
const maxTokenRequestBytes = 64 << 10

// Handler serves the issuer's endpoints at paths relative to the
// environment's base URL (the router strips the base):
//
//	POST /realms/api-keys/protocol/openid-connect/token       token endpoint
//	POST /auth/realms/api-keys/protocol/openid-connect/token  (Keycloak < 17 path)
//	POST /oauth/token                                         (ION's 2020 Auth0 path)
//	GET  /realms/api-keys/.well-known/openid-configuration    discovery
//	GET  /.well-known/openid-configuration                    discovery
//	GET  /realms/api-keys/protocol/openid-connect/certs       JWKS
//
// The legacy /auth/realms/api-keys prefix also serves discovery and JWKS.
// Any other path answers 404 with a GraphQL-shaped NOT_FOUND error, since
// the router mounts this handler under the environment's base.
func (i *Issuer) Handler() http.Handler { return i.handler }

func (i *Issuer) routes() http.Handler {
	mux := http.NewServeMux()
	for _, realm := range []string{realmPath, "/auth" + realmPath} {
		mux.HandleFunc(realm+tokenPathSuffix, i.serveToken)
		mux.HandleFunc(realm+discoveryPathPart, i.serveDiscovery)
		mux.HandleFunc(realm+certsPathSuffix, i.serveJWKS)
	}
	mux.HandleFunc("/oauth/token", i.serveToken)
	mux.HandleFunc(discoveryPathPart, i.serveDiscovery)
	mux.HandleFunc("/", i.serveNotFound)
	return mux
}

// oauthError is an error answer of the token endpoint (RFC 6749 §5.2).
type oauthError struct {
	status      int
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func badRequest(format string, args ...any) *oauthError {
	return &oauthError{status: http.StatusBadRequest, Error: oauthInvalidRequest, Description: fmt.Sprintf(format, args...)}
}

// tokenRequest is a parsed token request.
type tokenRequest struct {
	grantType    string
	clientID     string
	clientSecret string
	audience     string // accepted and ignored: tokens are always for this environment's API
	basic        bool   // credentials came as HTTP Basic
}

// tokenResponse is the body of a successful token request.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

func (i *Issuer) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeOAuthJSON(w, http.StatusMethodNotAllowed, oauthError{Error: oauthInvalidRequest, Description: msgTokenMethod})
		return
	}
	req, oerr := parseTokenRequest(w, r)
	if oerr == nil {
		switch {
		case req.grantType == "":
			oerr = badRequest(msgTokenNoGrantType)
		case req.grantType != "client_credentials":
			oerr = &oauthError{status: http.StatusBadRequest, Error: oauthUnsupportedGrantType, Description: fmt.Sprintf(msgTokenGrantType, req.grantType)}
		case req.clientID == "":
			oerr = badRequest(msgTokenNoClientID)
		case req.clientSecret == "":
			oerr = badRequest(msgTokenNoClientSecret)
		}
	}
	if oerr != nil {
		writeOAuthJSON(w, oerr.status, oerr)
		return
	}
	tok, err := i.ClientCredentialsToken(r.Context(), req.clientID, req.clientSecret)
	if err != nil {
		switch ion.ErrorCode(err) {
		case ion.EUNAUTHENTICATED, ion.EENVMISMATCH:
			if req.basic {
				// RFC 6749 §5.2: a failed Basic authentication answers
				// with the scheme the client used.
				w.Header().Set("WWW-Authenticate", `Basic realm="api-keys"`)
			}
			writeOAuthJSON(w, http.StatusUnauthorized, oauthError{Error: oauthUnauthorizedClient, Description: ion.ErrorMessage(err)})
		default:
			i.svc.cfg.Logger.Error("auth: token endpoint", "environment", i.env.Name, "err", err)
			writeOAuthJSON(w, http.StatusInternalServerError, oauthError{Error: oauthServerError, Description: msgTokenServerError})
		}
		return
	}
	writeOAuthJSON(w, http.StatusOK, tokenResponse{
		AccessToken: tok.AccessToken,
		TokenType:   "Bearer",
		ExpiresIn:   tok.ExpiresIn,
		Scope:       tokenScope,
	})
}

// parseTokenRequest reads the parameters from a form or JSON body and the
// client credentials from there or from HTTP Basic.
func parseTokenRequest(w http.ResponseWriter, r *http.Request) (tokenRequest, *oauthError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTokenRequestBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return tokenRequest{}, badRequest(msgTokenBodyTooLarge, maxTokenRequestBytes)
		}
		return tokenRequest{}, badRequest(msgTokenBodyUnreadable)
	}
	params, oerr := bodyParams(r.Header.Get("Content-Type"), body)
	if oerr != nil {
		return tokenRequest{}, oerr
	}
	req := tokenRequest{
		grantType:    params["grant_type"],
		clientID:     params["client_id"],
		clientSecret: params["client_secret"],
		audience:     params["audience"],
	}
	if h := r.Header.Get("Authorization"); len(h) > 6 && strings.EqualFold(h[:6], "Basic ") {
		id, secret, ok := basicCredentials(strings.TrimSpace(h[6:]))
		if !ok {
			return tokenRequest{}, badRequest(msgTokenBasicInvalid)
		}
		if (req.clientID != "" && req.clientID != id) || (req.clientSecret != "" && req.clientSecret != secret) {
			return tokenRequest{}, badRequest(msgTokenTwoMethods)
		}
		req.clientID, req.clientSecret, req.basic = id, secret, true
	}
	return req, nil
}

// bodyParams decodes a token request body. An empty Content-Type is read as
// a form, which is what curl -d and most HTTP libraries send anyway.
func bodyParams(contentType string, body []byte) (map[string]string, *oauthError) {
	mediaType := "application/x-www-form-urlencoded"
	if contentType != "" {
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil {
			return nil, badRequest(msgTokenContentType, contentType)
		}
		mediaType = mt
	}
	params := make(map[string]string)
	switch mediaType {
	case "application/x-www-form-urlencoded":
		values, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, badRequest(msgTokenFormInvalid)
		}
		for name, vs := range values {
			// RFC 6749 §3.2: parameters must not be repeated.
			if len(vs) > 1 {
				return nil, badRequest(msgTokenRepeated, name)
			}
			params[name] = vs[0]
		}
	case "application/json":
		// ION's 2020 clients (Auth0 era) post JSON.
		var obj map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&obj); err != nil || obj == nil || dec.More() {
			return nil, badRequest(msgTokenJSONInvalid)
		}
		for _, name := range []string{"grant_type", "client_id", "client_secret", "audience"} {
			v, ok := obj[name]
			if !ok || v == nil {
				continue
			}
			s, ok := v.(string)
			if !ok {
				return nil, badRequest(msgTokenJSONNotString, name)
			}
			params[name] = s
		}
	default:
		return nil, badRequest(msgTokenContentType, contentType)
	}
	return params, nil
}

// basicCredentials decodes HTTP Basic credentials. RFC 6749 §2.3.1 has
// clients form-encode the id and secret first; ionbox's never need it, but
// decoding keeps standard clients working.
func basicCredentials(encoded string) (id, secret string, ok bool) {
	b, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return "", "", false
	}
	id, secret, ok = strings.Cut(string(b), ":")
	if !ok {
		return "", "", false
	}
	if v, err := url.QueryUnescape(id); err == nil {
		id = v
	}
	if v, err := url.QueryUnescape(secret); err == nil {
		secret = v
	}
	return id, secret, true
}

// discoveryDocument is the OpenID Provider metadata this issuer publishes.
type discoveryDocument struct {
	Issuer                            string   `json:"issuer"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
}

func (i *Issuer) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	if !allowGET(w, r) {
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, discoveryDocument{
		Issuer:                            i.issuerURL,
		TokenEndpoint:                     i.TokenURL(),
		JWKSURI:                           i.JWKSURL(),
		GrantTypesSupported:               []string{"client_credentials"},
		TokenEndpointAuthMethodsSupported: []string{"client_secret_post", "client_secret_basic"},
		IDTokenSigningAlgValuesSupported:  []string{string(signingAlgorithm)},
		ScopesSupported:                   []string{tokenScope},
		SubjectTypesSupported:             []string{"public"},
	})
}

func (i *Issuer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if !allowGET(w, r) {
		return
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range i.publishedKeys() {
		set.Keys = append(set.Keys, jose.JSONWebKey{
			Key:       &k.private.PublicKey,
			KeyID:     k.kid,
			Algorithm: string(signingAlgorithm),
			Use:       "sig",
		})
	}
	// Short: a rotation must reach verifiers quickly.
	w.Header().Set("Cache-Control", "public, max-age=60")
	writeJSON(w, http.StatusOK, set)
}

func (i *Issuer) serveNotFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, map[string]any{
		"errors": []map[string]any{{
			"message":    fmt.Sprintf(msgEndpointNotFound, r.Method, r.URL.Path, i.TokenURL()),
			"extensions": map[string]any{"code": ion.ENOTFOUND},
		}},
	})
}

// allowGET answers 405 to anything but GET and HEAD.
func allowGET(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	writeJSON(w, http.StatusMethodNotAllowed, oauthError{Error: oauthInvalidRequest, Description: msgEndpointMethodGET})
	return false
}

// writeOAuthJSON answers the token endpoint; its answers must never be
// cached (RFC 6749 §5.1).
func writeOAuthJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, status, v)
}

// writeJSON writes v without HTML escaping, so that messages read as
// written, and without a trailing newline.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}
