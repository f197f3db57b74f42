package graphql

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/executor"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/ionbox/ionbox/internal/graphql/generated"
	"github.com/ionbox/ionbox/internal/limit"
	"github.com/ionbox/ionbox/ion"
)

// Limits bound what one request may ask for. A zero field takes its default.
type Limits struct {
	// MaxDepth is how many fields deep a query may nest. Default 12.
	MaxDepth int
	// MaxAliases is how many aliased fields an operation may have. Default 15.
	MaxAliases int
	// MaxPageSize is the largest first/last, and the page size when neither
	// is given. Default 1000.
	MaxPageSize int
	// MaxComplexity is the largest cost an operation may have: each field
	// costs 1, a connection multiplies what it selects by its page size and
	// a plain list of objects by 10. Default 1,000,000: room for a full page
	// of 1000 items with a few nested lists each, which rejects runaway
	// nesting of lists before any resolver runs.
	MaxComplexity int
	// MaxBodyBytes is the largest request body. Default 1 MiB.
	MaxBodyBytes int64
	// MaxBatch is how many operations a JSON array batch may hold. Default 10.
	MaxBatch int
	// MaxStringLength is the longest string one input value may hold, in
	// bytes (in variables or in the query text). Default 64 KiB: far above
	// any part number or description a factory writes, well below what
	// would let one request fill a store.
	MaxStringLength int
	// Timeout is how long a request may run before it is cancelled and
	// answered with code TIMEOUT. Default 30s (ION answers 502 after 30 s).
	Timeout time.Duration
}

// Default limits.
const (
	DefaultMaxDepth      = 12
	DefaultMaxAliases    = 15
	DefaultMaxPageSize   = 1000
	DefaultMaxComplexity = 1_000_000
	DefaultMaxBodyBytes  = 1 << 20
	DefaultMaxBatch      = 10
	DefaultMaxStringLen  = 64 << 10
	DefaultTimeout       = 30 * time.Second
)

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.MaxDepth, DefaultMaxDepth)
	def(&l.MaxAliases, DefaultMaxAliases)
	def(&l.MaxPageSize, DefaultMaxPageSize)
	def(&l.MaxComplexity, DefaultMaxComplexity)
	def(&l.MaxBatch, DefaultMaxBatch)
	def(&l.MaxStringLength, DefaultMaxStringLen)
	if l.MaxBodyBytes == 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.Timeout == 0 {
		l.Timeout = DefaultTimeout
	}
	return l
}

func (l Limits) validate() error {
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxDepth", int64(l.MaxDepth)},
		{"MaxAliases", int64(l.MaxAliases)},
		{"MaxPageSize", int64(l.MaxPageSize)},
		{"MaxComplexity", int64(l.MaxComplexity)},
		{"MaxBodyBytes", l.MaxBodyBytes},
		{"MaxBatch", int64(l.MaxBatch)},
		{"MaxStringLength", int64(l.MaxStringLength)},
		{"Timeout", int64(l.Timeout)},
	} {
		if f.v < 0 {
			return fmt.Errorf("graphql: Limits.%s must not be negative (got %d); 0 takes the default", f.name, f.v)
		}
	}
	return nil
}

// Config configures the handler.
type Config struct {
	// Stores gives the tenant store of the request's actor and the control
	// store (users, API keys). Required.
	Stores ion.Stores
	// APIKeys creates, updates and deletes API keys. Required.
	APIKeys ion.APIKeyService
	// Limits bound requests; zero fields take the defaults.
	Limits Limits
	// Sandboxes serves requestSandbox, sandboxRequests, sandboxes and
	// resetSandbox. Default: nil, which answers them FORBIDDEN.
	Sandboxes Sandboxes
	// Logger receives internal errors and panics. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock of Idempotency-Key records (their time and 24 h
	// expiry); default time.Now.
	Now func() time.Time
	// AfterIdempotentRun, when set, is called after a keyed mutation
	// committed and before its answer is stored or sent. Tests panic there
	// with http.ErrAbortHandler to lose the answer as a crash would.
	AfterIdempotentRun func()
}

func (c *Config) validate() error {
	if c.Stores == nil {
		return errors.New("graphql: Config.Stores is required")
	}
	if c.APIKeys == nil {
		return errors.New("graphql: Config.APIKeys is required")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Limits = c.Limits.withDefaults()
	return c.Limits.validate()
}

// Cache sizes: parsed and validated documents, and persisted query texts.
const (
	documentCacheSize  = 1000
	persistedCacheSize = 1000
	// parserTokenLimit bounds the work of parsing one document; the
	// standard introspection query has about a thousand tokens.
	parserTokenLimit = 50_000
)

// handler serves one environment's /graphql.
type handler struct {
	exec      *executor.Executor
	stores    ion.Stores
	limits    Limits
	log       *slog.Logger
	presenter errorPresenter

	now                func() time.Time
	afterIdempotentRun func()
	// inflight holds the keyed requests running in this process (tenant,
	// scope and key), so that a duplicate answers 409 at once.
	inflight sync.Map
}

// NewHandler returns the GraphQL endpoint. The router must authenticate
// first and put the ion.Actor in the request's context; a request without
// one is answered 401.
func NewHandler(cfg Config) (http.Handler, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	es := generated.NewExecutableSchema(generated.Config{Resolvers: &Resolver{
		stores:    cfg.Stores,
		apiKeys:   cfg.APIKeys,
		limits:    cfg.Limits,
		sandboxes: cfg.Sandboxes,
	}})
	docs := lru.New[*ast.QueryDocument](documentCacheSize)
	h := &handler{
		stores:    cfg.Stores,
		limits:    cfg.Limits,
		log:       cfg.Logger,
		presenter: errorPresenter{log: cfg.Logger, timeout: cfg.Limits.Timeout.String()},

		now:                cfg.Now,
		afterIdempotentRun: cfg.AfterIdempotentRun,
	}
	h.exec = executor.New(es)
	h.exec.SetQueryCache(docs)
	h.exec.SetParserTokenLimit(parserTokenLimit)
	h.exec.SetDefaultRulesFn(validationRules)
	h.exec.SetErrorPresenter(h.presenter.present)
	h.exec.SetRecoverFunc(recoverPanic(cfg.Logger))
	h.exec.Use(extension.Introspection{})
	// Persisted queries first: they fill in the query text the next
	// extension reads.
	h.exec.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](persistedCacheSize)})
	h.exec.Use(enumVariables{schema: es.Schema(), docs: docs})
	h.exec.Use(operationLimits{limits: cfg.Limits})
	h.exec.AroundRootFields(func(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
		// A sandbox request steps aside here while production is served.
		limit.Yield(ctx)
		if graphql.GetOperationContext(ctx).Operation.Operation == ast.Mutation {
			if st, err := stateFrom(ctx); err == nil {
				st.resetLoaders()
			}
			ctx = idempotentStep(ctx)
		}
		return next(ctx)
	})
	return h, nil
}

// httpError is a request-level failure: an HTTP status and one GraphQL
// error with a code.
type httpError struct {
	status int
	code   string
	msg    string
	allow  string // the Allow header of a 405
	// headers are further headers of the answer (e.g. Retry-After).
	headers map[string]string
	// cost, when set, is the answer's extensions.cost.
	cost *costExtension
}

func (e *httpError) Error() string { return e.msg }

func newHTTPError(status int, code, msg string) *httpError {
	return &httpError{status: status, code: code, msg: msg}
}

func badRequest(format string, args ...any) *httpError {
	return &httpError{status: http.StatusBadRequest, code: ion.EBADREQUEST, msg: fmt.Sprintf(format, args...)}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	actor, ok := ion.ActorFrom(r.Context())
	if !ok {
		writeError(w, newHTTPError(http.StatusUnauthorized, ion.EUNAUTHENTICATED, "Authentication required: send an access token in the Authorization header."))
		return
	}
	reqs, batch, herr := h.readRequest(w, r)
	if herr != nil {
		writeError(w, herr)
		return
	}

	var idem *idempotentRequest
	if key := r.Header.Get(IdempotencyKeyHeader); key != "" && r.Method == http.MethodPost {
		var done bool
		if idem, done = h.beginIdempotent(w, r, actor, reqs, key); done {
			return
		}
		if idem != nil {
			defer h.inflight.Delete(idem.inflight)
		}
	}

	ctx, cancel := context.WithTimeout(r.Context(), h.limits.Timeout)
	defer cancel()
	if idem != nil {
		ctx = withIdempotentRequest(ctx, idem)
	}
	type result struct {
		responses []*response
		err       *httpError
	}
	done := make(chan result, 1)
	go func() {
		// The executor recovers resolver panics; this catches the rest, so
		// a bug never takes the process down.
		defer func() {
			if v := recover(); v != nil {
				_ = recoverPanic(h.log)(ctx, v)
				done <- result{err: newHTTPError(http.StatusInternalServerError, ion.EINTERNAL, errInternal.Message)}
			}
		}()
		var res result
		for i, params := range reqs {
			if ctx.Err() != nil {
				break // timed out: run no further operation of the batch
			}
			resp, herr := h.execute(withOperationIndex(ctx, i), actor, params, r.Method == http.MethodGet, i == 0)
			if herr != nil {
				res.err = herr
				break
			}
			res.responses = append(res.responses, resp)
		}
		done <- res
	}()

	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return // the client went away: nobody reads an answer
		}
	}
	// A request whose deadline passed is answered TIMEOUT even when it just
	// finished: its fields may already have failed with context errors.
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		writeError(w, newHTTPError(http.StatusGatewayTimeout, ion.ETIMEOUT, h.presenter.timeoutMessage()))
		return
	}
	if res.err != nil {
		writeError(w, res.err)
		return
	}
	if len(res.responses) != len(reqs) {
		return // cancelled by the client part way: nobody reads an answer
	}
	if idem != nil {
		h.finishIdempotent(r.Context(), w, idem, actor, res.responses, batch)
		return
	}
	writeResponses(w, res.responses, batch)
}

// execute runs one operation with its own request state, so that each
// operation of a batch sees what the ones before it wrote.
func (h *handler) execute(ctx context.Context, actor ion.Actor, params *graphql.RawParams, get, first bool) (*response, *httpError) {
	st := newRequestState(actor, h.stores)
	ctx = generated.WithListOrder(withState(ctx, st), st)
	// NewHandler registers no field middleware (AroundFields or a
	// FieldInterceptor); adding one means dropping this.
	ctx = generated.WithPlainFields(ctx)
	ctx = graphql.StartOperationTrace(ctx)
	rc, errs := h.exec.CreateOperationContext(ctx, params)
	if errs != nil {
		return responseOf(h.exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)), nil
	}
	st.op = rc
	if get && rc.Operation.Operation != ast.Query {
		return nil, &httpError{status: http.StatusMethodNotAllowed, code: ion.EBADREQUEST,
			msg: fmt.Sprintf("A %s cannot be sent with GET; send it with POST. GET is for queries only.", rc.Operation.Operation), allow: "POST"}
	}
	requested := operationCost(rc.Operation, rc.Variables, h.limits.MaxPageSize, nil)
	var throttle *throttleStatus
	if acct, ok := limit.CostAccountFrom(ctx); ok {
		d := acct.Charge(ctx, requested)
		switch {
		case d.TooCostly():
			resp := &response{Errors: gqlerror.List{tooCostly(d)}}
			resp.Extensions = map[string]any{"cost": costExtension{RequestedQueryCost: requested, ThrottleStatus: throttleOf(d)}}
			return resp, nil
		case !d.Allowed && first:
			return nil, costRefusal(d)
		case !d.Allowed:
			// A later operation of a batch: the ones before it have run
			// (and may have written), so the batch is answered, with this
			// operation refused on its own.
			herr := costRefusal(d)
			resp := &response{Errors: gqlerror.List{codedError(herr.code, "%s", herr.msg)}}
			resp.Extensions = map[string]any{"cost": herr.cost}
			return resp, nil
		}
		throttle = throttleOf(d)
	}
	ctx, pages := withPageRecorder(ctx)
	responses, ctx := h.exec.DispatchOperation(ctx, rc)
	resp := responseOf(responses(ctx))
	if resp.Extensions == nil {
		resp.Extensions = map[string]any{}
	}
	resp.Extensions["cost"] = costExtension{
		RequestedQueryCost: requested,
		ActualQueryCost:    operationCost(rc.Operation, rc.Variables, h.limits.MaxPageSize, pages.snapshot()),
		ThrottleStatus:     throttle,
	}
	return resp, nil
}

// response is one operation's answer. Unlike graphql.Response it has no
// "data" member when the operation never started (a parse, validation or
// limit error), as the GraphQL spec asks; "data": null remains when
// execution ran and a non-null field's error reached the root.
type response struct {
	Errors     gqlerror.List   `json:"errors,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
	Extensions map[string]any  `json:"extensions,omitempty"`
}

// writeResponses answers with the operations' responses: the one response,
// or a JSON array of them for a batch.
//
// The bytes are those of json.Marshal, but the data, which the executor has
// already written as compact JSON, is copied as it is instead of being
// scanned again by encoding/json to validate and compact it: for a page of
// nested objects that scan was a twentieth of the request. Only the escapes
// of <, > and & (and U+2028, U+2029) that json.Marshal adds to strings are
// added, when the data has such characters at all.
func writeResponses(w http.ResponseWriter, responses []*response, batch bool) {
	parts := make([][]byte, 0, 2+3*len(responses))
	if batch {
		parts = append(parts, []byte("["))
	}
	for i, r := range responses {
		if i > 0 {
			parts = append(parts, []byte(","))
		}
		head, tail, err := r.envelope()
		if err != nil {
			writeBody(w, http.StatusInternalServerError, []byte(internalErrorBody))
			return
		}
		parts = append(parts, head, htmlEscaped(r.Data), tail)
	}
	if batch {
		parts = append(parts, []byte("]"))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	for _, p := range parts {
		_, _ = w.Write(p)
	}
}

var lineSeparator, paragraphSeparator = []byte("\u2028"), []byte("\u2029")

// envelope returns what json.Marshal writes of r before and after its data.
func (r *response) envelope() (head, tail []byte, err error) {
	head = []byte("{")
	if len(r.Errors) > 0 {
		b, err := json.Marshal(r.Errors)
		if err != nil {
			return nil, nil, err
		}
		head = append(append(head, `"errors":`...), b...)
	}
	if len(r.Data) > 0 {
		if len(head) > 1 {
			head = append(head, ',')
		}
		head = append(head, `"data":`...)
	}
	if len(r.Extensions) > 0 {
		b, err := json.Marshal(r.Extensions)
		if err != nil {
			return nil, nil, err
		}
		if len(head) > 1 || len(r.Data) > 0 {
			tail = append(tail, ',')
		}
		tail = append(append(tail, `"extensions":`...), b...)
	}
	return head, append(tail, '}'), nil
}

// htmlEscaped returns data with the escapes json.Marshal adds to strings.
func htmlEscaped(data []byte) []byte {
	// Three searches with fast paths, rather than one for the five
	// characters, which would decode every rune.
	if !bytes.ContainsAny(data, "<>&") && !bytes.Contains(data, lineSeparator) && !bytes.Contains(data, paragraphSeparator) {
		return data
	}
	var buf bytes.Buffer
	json.HTMLEscape(&buf, data)
	return buf.Bytes()
}

func responseOf(r *graphql.Response) *response {
	if r == nil {
		return &response{Errors: gqlerror.List{codedError(ion.EINTERNAL, "%s", errInternal.Message)}}
	}
	return &response{Errors: r.Errors, Data: r.Data, Extensions: r.Extensions}
}

// readRequest reads the operations of a request: one from a GET's query
// string, one or a batch (a JSON array) from a POST body.
func (h *handler) readRequest(w http.ResponseWriter, r *http.Request) ([]*graphql.RawParams, bool, *httpError) {
	switch r.Method {
	case http.MethodGet:
		p, err := paramsFromQuery(r)
		if err != nil {
			return nil, false, err
		}
		return []*graphql.RawParams{p}, false, nil
	case http.MethodPost:
	default:
		return nil, false, &httpError{status: http.StatusMethodNotAllowed, code: ion.EBADREQUEST,
			msg: fmt.Sprintf("Method %s is not allowed: send GraphQL with POST (or GET for queries).", r.Method), allow: "GET, POST"}
	}

	mediaType := ""
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return nil, false, newHTTPError(http.StatusUnsupportedMediaType, ion.EBADREQUEST, fmt.Sprintf("Content-Type %q is not valid; send application/json.", ct))
		}
		mediaType = mt
	}
	switch mediaType {
	// A missing Content-Type is read as JSON: scripts that post a JSON
	// string with requests' data= send none, and ION answered them.
	case "application/json", "application/graphql+json", "":
	case "application/graphql":
	default:
		return nil, false, newHTTPError(http.StatusUnsupportedMediaType, ion.EBADREQUEST,
			fmt.Sprintf("Content-Type %q is not supported; send application/json (or application/graphql with the query as the body).", mediaType))
	}

	if r.ContentLength > h.limits.MaxBodyBytes {
		return nil, false, h.tooLarge()
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.limits.MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, false, h.tooLarge()
		}
		return nil, false, badRequest("The request body could not be read: %v", err)
	}
	if mediaType == "application/graphql" {
		return []*graphql.RawParams{{Query: string(body)}}, false, nil
	}

	body = bytes.TrimSpace(body)
	if len(body) > 0 {
		var probe json.RawMessage
		if err := strictUnmarshal(body, &probe); err != nil {
			return nil, false, badRequest("The request body is not valid JSON: %v.", err)
		}
	}
	switch {
	case len(body) == 0:
		return nil, false, badRequest(`The request body is empty; send a JSON object such as {"query": "{ currentUser { id } }"}.`)
	case body[0] == '[':
		var items []json.RawMessage
		if err := strictUnmarshal(body, &items); err != nil {
			return nil, false, badRequest("The request body is not valid JSON: %v.", err)
		}
		if len(items) == 0 {
			return nil, false, badRequest("The batch is empty; send at least one operation.")
		}
		if len(items) > h.limits.MaxBatch {
			return nil, false, newHTTPError(http.StatusBadRequest, ion.EBATCHTOOLARGE,
				fmt.Sprintf("The batch has %d operations; the limit is %d. Send several smaller batches.", len(items), h.limits.MaxBatch))
		}
		out := make([]*graphql.RawParams, len(items))
		for i, item := range items {
			p, err := paramsFromJSON(item)
			if err != nil {
				err.msg = fmt.Sprintf("Batch item %d: %s", i, err.msg)
				return nil, false, err
			}
			out[i] = p
		}
		return out, true, nil
	case body[0] == '{':
		p, err := paramsFromJSON(body)
		if err != nil {
			return nil, false, err
		}
		return []*graphql.RawParams{p}, false, nil
	}
	return nil, false, badRequest(`The request body must be a JSON object {"query", "variables", "operationName"} or an array of them.`)
}

func (h *handler) tooLarge() *httpError {
	return newHTTPError(http.StatusRequestEntityTooLarge, ion.EBODYTOOLARGE,
		fmt.Sprintf("The request body is over the limit of %d bytes. Send smaller batches or pass large values as variables of several requests.", h.limits.MaxBodyBytes))
}

// paramsFromJSON reads one {"query", "variables", "operationName",
// "extensions"} object, saying which member is wrong. Other members are
// ignored, as Graphene does.
func paramsFromJSON(raw []byte) (*graphql.RawParams, *httpError) {
	var members map[string]json.RawMessage
	if err := strictUnmarshal(raw, &members); err != nil || members == nil {
		if err == nil {
			err = errors.New("null")
		}
		return nil, badRequest(`An operation must be a JSON object {"query", "variables", "operationName"}: %v.`, err)
	}
	p := &graphql.RawParams{}
	if err := decodeMember(members, "query", &p.Query); err != nil {
		return nil, err
	}
	if err := decodeMember(members, "operationName", &p.OperationName); err != nil {
		return nil, err
	}
	if err := decodeObjectMember(members, "variables", &p.Variables); err != nil {
		return nil, err
	}
	if err := decodeObjectMember(members, "extensions", &p.Extensions); err != nil {
		return nil, err
	}
	if p.Query == "" && p.Extensions["persistedQuery"] == nil {
		return nil, badRequest(`query: is required: a GraphQL document as a string, e.g. {"query": "{ currentUser { id } }"}.`)
	}
	return p, nil
}

// decodeMember reads a string member; null or absent leaves it empty.
func decodeMember(members map[string]json.RawMessage, name string, dst *string) *httpError {
	raw, ok := members[name]
	if !ok || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return badRequest("%s: must be a string.", name)
	}
	return nil
}

// decodeObjectMember reads an object member, numbers kept exact. A string
// holding a JSON object is accepted too: some clients send variables
// JSON-encoded twice, and Graphene read them.
func decodeObjectMember(members map[string]json.RawMessage, name string, dst *map[string]any) *httpError {
	raw, ok := members[name]
	if !ok || string(raw) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if strings.TrimSpace(s) == "" {
			return nil
		}
		raw = []byte(s)
	}
	if err := strictUnmarshal(raw, dst); err != nil || *dst == nil {
		return badRequest("%s: must be a JSON object.", name)
	}
	return nil
}

// paramsFromQuery reads a GET request's query string.
func paramsFromQuery(r *http.Request) (*graphql.RawParams, *httpError) {
	q := r.URL.Query()
	p := &graphql.RawParams{Query: q.Get("query"), OperationName: q.Get("operationName")}
	for name, dst := range map[string]*map[string]any{"variables": &p.Variables, "extensions": &p.Extensions} {
		if s := q.Get(name); s != "" {
			if err := strictUnmarshal([]byte(s), dst); err != nil || *dst == nil {
				return nil, badRequest("%s: must be a JSON object.", name)
			}
		}
	}
	if p.Query == "" && p.Extensions["persistedQuery"] == nil {
		return nil, badRequest("query: is required: pass the GraphQL document in the query parameter.")
	}
	return p, nil
}

// strictUnmarshal decodes exactly one JSON value, numbers as json.Number so
// that ids and decimals stay exact.
func strictUnmarshal(data []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// writeError answers a request-level failure with its status and a
// GraphQL-shaped body {"errors": [{"message", "extensions": {"code"}}]}.
func writeError(w http.ResponseWriter, e *httpError) {
	if e.allow != "" {
		w.Header().Set("Allow", e.allow)
	}
	for k, v := range e.headers {
		w.Header().Set(k, v)
	}
	var ext map[string]any
	if e.cost != nil {
		ext = map[string]any{"cost": e.cost}
	}
	writeJSON(w, e.status, struct {
		Errors     gqlerror.List  `json:"errors"`
		Extensions map[string]any `json:"extensions,omitempty"`
	}{gqlerror.List{codedError(e.code, "%s", e.msg)}, ext})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeBody(w, http.StatusInternalServerError, []byte(internalErrorBody))
		return
	}
	writeBody(w, status, b)
}

// internalErrorBody answers what could not be encoded.
const internalErrorBody = `{"errors":[{"message":"Internal error.","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`

func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
