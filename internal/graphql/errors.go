package graphql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/ionbox/ionbox/ion"
)

// errInternal is what a client sees of any error that is not an *ion.Error:
// the details go to the log only.
var errInternal = &ion.Error{Code: ion.EINTERNAL, Message: "Internal error."}

// errorPresenter maps every error of an operation to ION's envelope entry
// {"message", "path", "extensions": {"code"}}. This is the one place where
// the GraphQL transport turns errors into codes.
type errorPresenter struct {
	log     *slog.Logger
	timeout string // the configured timeout, for the TIMEOUT message
}

func (p errorPresenter) present(ctx context.Context, err error) *gqlerror.Error {
	gerr := graphql.DefaultErrorPresenter(ctx, err)
	var ie *ion.Error
	switch {
	case errors.As(err, &ie):
		gerr.Message = ie.Message
		setCode(gerr, ie.Code)
		p.moveArgumentPath(ctx, gerr)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		gerr.Message = p.timeoutMessage()
		setCode(gerr, ion.ETIMEOUT)
	case gerr.Extensions["code"] != nil:
		// gqlgen's parse and validation errors (GRAPHQL_PARSE_FAILED,
		// GRAPHQL_VALIDATION_FAILED), persisted-query misses and this
		// package's limit errors carry their code already.
	case gerr.Err == nil && len(gerr.Path) == 0:
		// Errors gqlgen raises about the request itself, such as a
		// persisted-query hash that does not match its query.
		setCode(gerr, ion.EBADREQUEST)
	default:
		p.log.ErrorContext(ctx, "graphql: internal error", "path", gerr.Path.String(), "error", err)
		gerr.Message = errInternal.Message
		gerr.Err = nil
		setCode(gerr, ion.EINTERNAL)
	}
	return gerr
}

func (p errorPresenter) timeoutMessage() string {
	return fmt.Sprintf("The request took longer than %s and was cancelled. Ask for smaller pages (first/after) or fewer nested fields, then retry.", p.timeout)
}

// moveArgumentPath handles an error from reading an argument (an id, a
// decimal, a date): gqlgen puts the argument's path (input, quantity) after
// the field's path. The response path names the field; the message gets the
// argument, e.g. "input.quantity: A decimal must be …".
func (p errorPresenter) moveArgumentPath(ctx context.Context, gerr *gqlerror.Error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return
	}
	fieldPath := fc.Path()
	if len(gerr.Path) <= len(fieldPath) || gerr.Path[:len(fieldPath)].String() != fieldPath.String() {
		return
	}
	var arg []string
	for _, el := range gerr.Path[len(fieldPath):] {
		switch el := el.(type) {
		case ast.PathName:
			arg = append(arg, string(el))
		case ast.PathIndex:
			arg = append(arg, fmt.Sprintf("%d", int(el)))
		}
	}
	if !strings.HasPrefix(gerr.Message, arg[len(arg)-1]+":") {
		gerr.Message = strings.Join(arg, ".") + ": " + gerr.Message
	}
	gerr.Path = fieldPath
}

func setCode(gerr *gqlerror.Error, code string) {
	if gerr.Extensions == nil {
		gerr.Extensions = map[string]any{}
	}
	gerr.Extensions["code"] = code
}

// codedError makes an error that this package raises before execution (a
// limit, a transport problem) in ION's shape.
func codedError(code, format string, args ...any) *gqlerror.Error {
	return &gqlerror.Error{Message: fmt.Sprintf(format, args...), Extensions: map[string]any{"code": code}}
}

// recoverPanic logs a resolver panic with its stack and answers an internal
// error, so that a bug fails one field, never the process.
func recoverPanic(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, v any) error {
		log.ErrorContext(ctx, "graphql: panic in resolver", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		return errInternal
	}
}
