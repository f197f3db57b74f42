package ion

import (
	"errors"
	"fmt"
)

// Error codes. They are the one vocabulary shared by every transport: the
// GraphQL layer puts them in extensions.code, the HTTP layer maps them to a
// status in exactly one place.
const (
	ENOTFOUND          = "NOT_FOUND"
	ECONFLICT          = "CONFLICT"
	EVALIDATION        = "VALIDATION_ERROR"
	EFORBIDDEN         = "FORBIDDEN"
	EUNAUTHENTICATED   = "UNAUTHENTICATED"
	ETOKENEXPIRED      = "TOKEN_EXPIRED"
	EINVALIDTOKEN      = "INVALID_TOKEN"
	EENVMISMATCH       = "ENVIRONMENT_MISMATCH"
	ERATELIMITED       = "RATE_LIMITED"
	EINTERNAL          = "INTERNAL_SERVER_ERROR"
	EQUERYTOOCOMPLEX   = "QUERY_TOO_COMPLEX"
	EQUERYTOODEEP      = "QUERY_TOO_DEEP"
	ETOOMANYALIASES    = "TOO_MANY_ALIASES"
	EPAGETOOLARGE      = "PAGE_SIZE_TOO_LARGE"
	EBATCHTOOLARGE     = "BATCH_TOO_LARGE"
	EBODYTOOLARGE      = "REQUEST_TOO_LARGE"
	ETIMEOUT           = "TIMEOUT"
	EBADREQUEST        = "BAD_REQUEST"
	EPERSISTEDNOTFOUND = "PERSISTED_QUERY_NOT_FOUND"
	ESANDBOXNOTFOUND   = "SANDBOX_NOT_FOUND"
	ESANDBOXEXPIRED    = "SANDBOX_EXPIRED"
	ESANDBOXBUSY       = "SANDBOX_UNAVAILABLE"
	// ESANDBOXTHROTTLED: the node is at capacity and sheds sandbox
	// requests so that production is served first (HTTP 503).
	ESANDBOXTHROTTLED = "SANDBOX_THROTTLED"
)

// Error is an application error: a code from the list above and a message
// written for the integration developer who will read it.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, and a
// generic text for internal errors so that their details never leak.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// NotFound is the error for an id the caller cannot see. Another
// organization's id answers exactly like a missing one, so that ids leak
// nothing.
func NotFound(kind string, id ID) *Error {
	return Errorf(ENOTFOUND, "%s %d not found.", kind, id)
}

// Invalid is a VALIDATION_ERROR naming the field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EVALIDATION, Message: field + ": " + fmt.Sprintf(format, args...)}
}

// StaleEtag is the CONFLICT returned when an update or delete carries an etag
// other than the object's current one.
func StaleEtag(kind string, id ID) *Error {
	return Errorf(ECONFLICT, "Etag mismatch: %s %d has been modified. Re-fetch it and retry with its current _etag.", kind, id)
}
