package client

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinel errors; test with errors.Is. Every *Error matches the sentinel of
// its Code (and of its HTTP status where the code is absent).
var (
	// ErrEnvironmentMismatch: the credential belongs to another environment
	// (detected by the SDK before sending, or answered by the server).
	ErrEnvironmentMismatch = errors.New("ion: environment mismatch")
	// ErrRateLimited: 429 RATE_LIMITED, after the retries ran out.
	ErrRateLimited = errors.New("ion: rate limited")
	// ErrConflict: CONFLICT, e.g. a stale etag.
	ErrConflict = errors.New("ion: conflict")
	// ErrNotFound: NOT_FOUND.
	ErrNotFound = errors.New("ion: not found")
	// ErrValidation: VALIDATION_ERROR.
	ErrValidation = errors.New("ion: validation error")
	// ErrUnauthenticated: UNAUTHENTICATED, INVALID_TOKEN, or a refused client credential.
	ErrUnauthenticated = errors.New("ion: unauthenticated")
	// ErrTokenExpired: TOKEN_EXPIRED (the SDK refreshes once before giving up).
	ErrTokenExpired = errors.New("ion: token expired")
	// ErrForbidden: FORBIDDEN.
	ErrForbidden = errors.New("ion: forbidden")
	// ErrProductionWrite: a destructive bulk operation against production
	// without AllowProductionWrites.
	ErrProductionWrite = errors.New("ion: production write refused")
	// ErrUnavailable: 503 after the retries ran out.
	ErrUnavailable = errors.New("ion: service unavailable")
)

// Error is one error answered by ION (or raised by the SDK's guards), with
// ION's extensions.code.
type Error struct {
	// Code is ION's extensions.code, e.g. NOT_FOUND, CONFLICT, ENVIRONMENT_MISMATCH.
	Code string
	// Message is the server's message, unchanged.
	Message string
	// Status is the HTTP status of the answer (200 for GraphQL execution
	// errors; 0 when the SDK refused before sending).
	Status int
	// Path is the GraphQL path of an execution error, e.g. ["createPart"].
	Path []any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("ion")
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Status != 0 && e.Status != http.StatusOK {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if len(e.Path) > 0 {
		fmt.Fprintf(&b, " at %v", e.Path)
	}
	b.WriteString(": " + e.Message)
	return b.String()
}

// Is makes errors.Is(err, ErrNotFound) and friends work.
func (e *Error) Is(target error) bool {
	switch e.Code {
	case "ENVIRONMENT_MISMATCH":
		return target == ErrEnvironmentMismatch
	case "RATE_LIMITED":
		return target == ErrRateLimited
	case "CONFLICT":
		return target == ErrConflict
	case "NOT_FOUND":
		return target == ErrNotFound
	case "VALIDATION_ERROR":
		return target == ErrValidation
	case "UNAUTHENTICATED", "INVALID_TOKEN", "unauthorized_client", "invalid_client":
		return target == ErrUnauthenticated
	case "TOKEN_EXPIRED":
		return target == ErrTokenExpired || target == ErrUnauthenticated
	case "FORBIDDEN":
		return target == ErrForbidden
	case "PRODUCTION_WRITE_REFUSED":
		return target == ErrProductionWrite
	}
	switch e.Status {
	case http.StatusTooManyRequests:
		return target == ErrRateLimited
	case http.StatusServiceUnavailable:
		return target == ErrUnavailable
	case http.StatusUnauthorized:
		return target == ErrUnauthenticated
	case http.StatusNotFound:
		return target == ErrNotFound
	case http.StatusConflict:
		return target == ErrConflict
	case http.StatusForbidden:
		return target == ErrForbidden
	}
	return false
}
