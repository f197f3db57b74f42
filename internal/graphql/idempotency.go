package graphql

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/ionbox/ionbox/ion"
)

// Idempotency-Key on mutations (an ionbox addition; see ion/idempotency.go
// for the record). The handler decides, before anything runs, whether a
// keyed request is new, a replay of a stored answer, a reuse of the key
// for another request (422), or a duplicate of one still running (409);
// each top-level mutation field then carries an ion.IdempotentWrite, which
// the tenant store records in the field's own transaction.

const (
	// IdempotencyKeyHeader carries the client's key.
	IdempotencyKeyHeader = "Idempotency-Key"
	// ReplayedHeader marks an answer that replays an earlier execution.
	ReplayedHeader = "Idempotent-Replayed"
	// maxIdempotencyKeyLen bounds a key (a UUID is 36 characters).
	maxIdempotencyKeyLen = 255
)

// idempotentRequest is one keyed request that holds mutations.
type idempotentRequest struct {
	scope, key, fingerprint string
	at                      time.Time
	// record holds the steps that committed in an earlier execution that
	// never stored its answer; they are replayed, not written again.
	record    ion.IdempotencyRecord
	replaying bool
	// committed is set once any step's transaction committed.
	committed atomic.Bool
	// inflight is this request's entry in handler.inflight.
	inflight string
}

type idempotentRequestKey struct{}
type operationIndexKey struct{}

func withIdempotentRequest(ctx context.Context, r *idempotentRequest) context.Context {
	return context.WithValue(ctx, idempotentRequestKey{}, r)
}

// withOperationIndex tells the root fields which operation of a batch they
// belong to, so that their step names are unique within the request.
func withOperationIndex(ctx context.Context, i int) context.Context {
	return context.WithValue(ctx, operationIndexKey{}, i)
}

// idempotentStep gives a mutation's root field its ion.IdempotentWrite when
// the request is keyed: step "<operation index>.<response key>", and the
// recorded result when the step committed before.
func idempotentStep(ctx context.Context) context.Context {
	req, ok := ctx.Value(idempotentRequestKey{}).(*idempotentRequest)
	if !ok {
		return ctx
	}
	rf := graphql.GetRootFieldContext(ctx)
	if rf == nil || rf.Field.Field == nil {
		return ctx
	}
	op, _ := ctx.Value(operationIndexKey{}).(int)
	w := &ion.IdempotentWrite{
		Scope: req.scope, Key: req.key, Fingerprint: req.fingerprint,
		Step:        strconv.Itoa(op) + "." + rf.Field.Alias,
		At:          req.at,
		PruneBefore: req.at.Add(-ion.IdempotencyTTL),
		OnCommit:    func() { req.committed.Store(true) },
	}
	if st, ok := req.record.Step(w.Step); ok {
		w.Replay = &st
	}
	return ion.WithIdempotentWrite(ctx, w)
}

// credentialScope names the environment and the credential a key belongs
// to: the same key from another API key, user or environment is another key.
func credentialScope(a ion.Actor) string {
	if a.ClientID != "" {
		return a.Environment + "/client:" + a.ClientID
	}
	return a.Environment + "/user:" + strconv.FormatInt(a.User.ID, 10)
}

// checkIdempotencyKey refuses a key that is empty, too long or not
// visible ASCII (it is stored and echoed in messages).
func checkIdempotencyKey(key string) *httpError {
	if len(key) > maxIdempotencyKeyLen {
		return badRequest("Idempotency-Key is %d characters long; the limit is %d. Use a UUID.", len(key), maxIdempotencyKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return badRequest("Idempotency-Key must be visible ASCII characters without spaces (e.g. a UUID); character %d is not.", i+1)
		}
	}
	return nil
}

// fingerprintMutations returns the fingerprint of reqs and whether any of
// their selected operations is a mutation. The fingerprint covers every
// operation's text (parsed and printed again, so that whitespace and
// comments do not count), its variables (encoded with sorted keys) and its
// operation name. An operation that does not parse, or that names a
// persisted query only, is no mutation here: the executor reports it.
func fingerprintMutations(reqs []*graphql.RawParams) (string, bool) {
	type canonical struct {
		Query         string         `json:"query"`
		OperationName string         `json:"operationName"`
		Variables     map[string]any `json:"variables"`
	}
	mutation := false
	ops := make([]canonical, len(reqs))
	for i, p := range reqs {
		ops[i] = canonical{Query: p.Query, OperationName: p.OperationName, Variables: p.Variables}
		if p.Query == "" {
			continue
		}
		doc, err := parser.ParseQuery(&ast.Source{Input: p.Query})
		if err != nil {
			continue
		}
		var buf bytes.Buffer
		formatter.NewFormatter(&buf).FormatQueryDocument(doc)
		ops[i].Query = buf.String()
		var op *ast.OperationDefinition
		if p.OperationName != "" {
			op = doc.Operations.ForName(p.OperationName)
		} else if len(doc.Operations) == 1 {
			op = doc.Operations[0]
		}
		if op != nil && op.Operation == ast.Mutation {
			mutation = true
		}
	}
	raw, err := json.Marshal(ops)
	if err != nil {
		return "", false // variables came from JSON: they always encode
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:]), mutation
}

// beginIdempotent handles the Idempotency-Key of a request before anything
// runs. It answers the request itself (done) for a bad key, a duplicate
// still running (409), a reuse with another request (422) and a stored
// answer (replayed); otherwise it returns the request to run, or nil when
// the key does not apply (no mutation: queries ignore it).
func (h *handler) beginIdempotent(w http.ResponseWriter, r *http.Request, actor ion.Actor, reqs []*graphql.RawParams, key string) (req *idempotentRequest, done bool) {
	fingerprint, mutation := fingerprintMutations(reqs)
	if !mutation {
		return nil, false
	}
	if herr := checkIdempotencyKey(key); herr != nil {
		writeError(w, herr)
		return nil, true
	}
	now := h.now()
	req = &idempotentRequest{scope: credentialScope(actor), key: key, fingerprint: fingerprint, at: now}
	tenantID := actor.Organization.TenantID()
	req.inflight = tenantID + "\x00" + req.scope + "\x00" + key
	if _, running := h.inflight.LoadOrStore(req.inflight, struct{}{}); running {
		w.Header().Set("Retry-After", "1")
		writeError(w, newHTTPError(http.StatusConflict, ion.EIDEMPOTENCYINUSE, fmt.Sprintf(
			"A request with Idempotency-Key %q is still running; retry after it has answered to get its result.", key)))
		return nil, true
	}
	fail := func(err error) (*idempotentRequest, bool) {
		h.inflight.Delete(req.inflight)
		h.log.Error("idempotency record", "err", err)
		writeError(w, newHTTPError(http.StatusInternalServerError, ion.EINTERNAL, errInternal.Message))
		return nil, true
	}
	ts, err := h.stores.Tenant(r.Context(), tenantID)
	if err != nil {
		return fail(err)
	}
	rec, err := ts.IdempotencyRecord(r.Context(), req.scope, key)
	switch {
	case ion.ErrorCode(err) == ion.ENOTFOUND:
		return req, false
	case err != nil:
		return fail(err)
	case rec.CreatedAt.Before(req.at.Add(-ion.IdempotencyTTL)):
		// Expired: the key is new again; the first write prunes the old
		// record in its own transaction.
		return req, false
	case rec.Fingerprint != fingerprint:
		h.inflight.Delete(req.inflight)
		writeError(w, newHTTPError(http.StatusUnprocessableEntity, ion.EIDEMPOTENCYREUSED, fmt.Sprintf(
			"Idempotency-Key %q was already used by this credential for a different request (another operation, variables or operation name). Send a new key for a new request.", key)))
		return nil, true
	case rec.Status != 0:
		h.inflight.Delete(req.inflight)
		w.Header().Set(ReplayedHeader, "true")
		writeBody(w, rec.Status, rec.Response)
		return nil, true
	}
	// Steps committed but no answer was stored (the process stopped in
	// between): run again, replaying those steps.
	req.record, req.replaying = rec, true
	return req, false
}

// finishIdempotent answers a keyed request that ran: when a step committed
// (or was replayed) the answer is stored first, so that a retry gets these
// exact bytes; storing is best effort, as the steps are already durable.
func (h *handler) finishIdempotent(ctx context.Context, w http.ResponseWriter, req *idempotentRequest, actor ion.Actor, responses []*response, batch bool) {
	if !req.committed.Load() && !req.replaying {
		// Nothing was written under the key. A step refused because another
		// replica is running the same key is that request's 409.
		for _, resp := range responses {
			for _, e := range resp.Errors {
				if code, _ := e.Extensions["code"].(string); code == ion.EIDEMPOTENCYINUSE {
					w.Header().Set("Retry-After", "1")
					writeError(w, newHTTPError(http.StatusConflict, ion.EIDEMPOTENCYINUSE, e.Message))
					return
				}
			}
		}
		writeResponses(w, responses, batch)
		return
	}
	if h.afterIdempotentRun != nil {
		h.afterIdempotentRun()
	}
	body, err := responsesBody(responses, batch)
	if err != nil {
		writeBody(w, http.StatusInternalServerError, []byte(internalErrorBody))
		return
	}
	if ts, err := h.stores.Tenant(ctx, actor.Organization.TenantID()); err == nil {
		err = ts.SaveIdempotentResponse(context.WithoutCancel(ctx), req.scope, req.key, http.StatusOK, body)
		if err != nil {
			h.log.Warn("store the answer of an Idempotency-Key", "err", err)
		}
	} else if !errors.Is(err, context.Canceled) {
		h.log.Warn("store the answer of an Idempotency-Key", "err", err)
	}
	if req.replaying {
		w.Header().Set(ReplayedHeader, "true")
	}
	writeBody(w, http.StatusOK, body)
}

// responsesBody is what writeResponses writes, as one byte slice.
func responsesBody(responses []*response, batch bool) ([]byte, error) {
	var buf bytes.Buffer
	if batch {
		buf.WriteByte('[')
	}
	for i, r := range responses {
		if i > 0 {
			buf.WriteByte(',')
		}
		head, tail, err := r.envelope()
		if err != nil {
			return nil, err
		}
		buf.Write(head)
		buf.Write(htmlEscaped(r.Data))
		buf.Write(tail)
	}
	if batch {
		buf.WriteByte(']')
	}
	return buf.Bytes(), nil
}
