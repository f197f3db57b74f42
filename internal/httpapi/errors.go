package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/ionbox/ionbox/ion"
)

// statusOf maps an ion error code to an HTTP status. It is the only place
// where that mapping lives for the HTTP surface.
func statusOf(code string) int {
	switch code {
	case ion.ENOTFOUND, ion.ESANDBOXNOTFOUND:
		return http.StatusNotFound
	case ion.ECONFLICT:
		return http.StatusConflict
	case ion.EVALIDATION:
		return http.StatusUnprocessableEntity
	case ion.EFORBIDDEN:
		return http.StatusForbidden
	case ion.EUNAUTHENTICATED, ion.ETOKENEXPIRED, ion.EINVALIDTOKEN, ion.EENVMISMATCH:
		return http.StatusUnauthorized
	case ion.ERATELIMITED:
		return http.StatusTooManyRequests
	case ion.EBADREQUEST:
		return http.StatusBadRequest
	case ion.EBODYTOOLARGE:
		return http.StatusRequestEntityTooLarge
	case ion.ESANDBOXEXPIRED:
		return http.StatusGone
	case ion.ESANDBOXBUSY, ion.ESANDBOXTHROTTLED:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// writeGraphQLError answers with a real HTTP status and a GraphQL-shaped body,
// as ION does for auth and transport failures.
func writeGraphQLError(w http.ResponseWriter, log *slog.Logger, err error) {
	code := ion.ErrorCode(err)
	status := statusOf(code)
	if code == ion.EINTERNAL {
		log.Error("request failed", "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="api-keys"`)
	}
	writeJSON(w, status, map[string]any{
		"errors": []map[string]any{{
			"message":    ion.ErrorMessage(err),
			"extensions": map[string]any{"code": code},
		}},
	})
}

// writeProblem answers the admin API's errors as RFC 9457 problem documents.
func writeProblem(w http.ResponseWriter, log *slog.Logger, err error) {
	code := ion.ErrorCode(err)
	status := statusOf(code)
	if code == ion.EINTERNAL {
		log.Error("admin request failed", "err", err)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type":   "https://ionbox.dev/problems/" + code,
		"title":  http.StatusText(status),
		"status": status,
		"detail": ion.ErrorMessage(err),
		"code":   code,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
