package ion

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Idempotency-Key on mutations (an ionbox addition: ION publishes no such
// header). A request that carries a key has each of its top-level mutation
// fields (a "step") recorded in the tenant's store IN THE SAME TRANSACTION
// as the step's change, with what the store returned; once the response is
// built it is stored beside the steps. A retry with the same key gets the
// stored response; if the process died between the commit and the
// response, the retry runs the operation again in replay mode, where every
// step that committed returns its recorded result instead of writing.

// IdempotencyTTL is how long a key's record is kept: at least this long
// after its first step committed, and pruned afterwards.
const IdempotencyTTL = 24 * time.Hour

// Error codes of Idempotency-Key.
const (
	// EIDEMPOTENCYINUSE: the same key is being used by a request that has
	// not finished (HTTP 409).
	EIDEMPOTENCYINUSE = "IDEMPOTENCY_KEY_IN_USE"
	// EIDEMPOTENCYREUSED: the key was used before with a different request
	// (HTTP 422).
	EIDEMPOTENCYREUSED = "IDEMPOTENCY_KEY_REUSED"
)

// IdempotentStep is one committed top-level mutation field of a keyed
// request.
type IdempotentStep struct {
	// Step names the field within the request: "<operation index>.<response
	// key>", e.g. "0.createPart" or "0.second" for an alias.
	Step string
	// Kind and ObjectID name the object the store returned ("part", 12);
	// ObjectID is 0 when the write returned no object of its own.
	Kind     string
	ObjectID ID
	// Result is the JSON of the domain object the store returned (e.g. an
	// ion.Part), "null" for a delete.
	Result json.RawMessage
}

// IdempotencyRecord is what a tenant keeps of one key of one credential.
type IdempotencyRecord struct {
	Scope, Key string
	// Fingerprint identifies the request (operation text, variables and
	// operation name, canonicalised); the key answers only that request.
	Fingerprint string
	// CreatedAt is when the first step committed.
	CreatedAt time.Time
	// Steps are the committed steps, by Step.
	Steps []IdempotentStep
	// Status and Response are the stored answer; Status is 0 until it is
	// stored (a crash between commit and response leaves it so).
	Status   int
	Response []byte
}

// Step returns the committed step named step.
func (r IdempotencyRecord) Step(step string) (IdempotentStep, bool) {
	for _, s := range r.Steps {
		if s.Step == step {
			return s, true
		}
	}
	return IdempotentStep{}, false
}

// IdempotentWrite travels in the context of one top-level mutation field
// of a keyed request. A tenant store's write transaction records the step
// (with the object it returns) before it commits, and fails with
// IDEMPOTENCY_KEY_IN_USE, writing nothing, if the step is already recorded.
type IdempotentWrite struct {
	Scope, Key, Fingerprint, Step string
	// At stamps the record (the request's clock, so tests can move it).
	At time.Time
	// PruneBefore: records created before it are deleted in the same
	// transaction (zero: none).
	PruneBefore time.Time
	// Replay, when set, is this step's earlier result: the store returns
	// it without writing anything.
	Replay *IdempotentStep
	// OnCommit, when set, is called once the step's transaction committed.
	OnCommit func()
}

type idempotentWriteKey struct{}

// WithIdempotentWrite returns a context carrying w.
func WithIdempotentWrite(ctx context.Context, w *IdempotentWrite) context.Context {
	return context.WithValue(ctx, idempotentWriteKey{}, w)
}

// IdempotentWriteFrom returns the IdempotentWrite ctx carries, if any.
func IdempotentWriteFrom(ctx context.Context) (*IdempotentWrite, bool) {
	w, ok := ctx.Value(idempotentWriteKey{}).(*IdempotentWrite)
	return w, ok && w != nil
}

// ReplayedResult is what a store write returns in replay mode: when ctx
// carries a step to replay, its recorded result decoded as T and true;
// otherwise false, and the write runs.
func ReplayedResult[T any](ctx context.Context) (T, bool, error) {
	var out T
	w, ok := IdempotentWriteFrom(ctx)
	if !ok || w.Replay == nil {
		return out, false, nil
	}
	if len(w.Replay.Result) > 0 && string(w.Replay.Result) != "null" {
		if err := json.Unmarshal(w.Replay.Result, &out); err != nil {
			return out, true, fmt.Errorf("replay step %s of Idempotency-Key %q: decode the recorded %s: %w", w.Replay.Step, w.Key, w.Replay.Kind, err)
		}
	}
	return out, true, nil
}

// IdempotencyStore keeps Idempotency-Key records in a tenant's own store,
// so that each environment's (each sandbox's) keys are its own. Steps are
// written by the store's write transactions (see IdempotentWrite).
type IdempotencyStore interface {
	// IdempotencyRecord returns the record of key for scope (the
	// credential), with its steps. NOT_FOUND when no step of it committed.
	IdempotencyRecord(ctx context.Context, scope, key string) (IdempotencyRecord, error)
	// SaveIdempotentResponse stores the answer of a keyed request, once:
	// an answer already stored stays. NOT_FOUND (nothing stored) when no
	// step of the key committed, so a request that wrote nothing is run
	// again on retry.
	SaveIdempotentResponse(ctx context.Context, scope, key string, status int, body []byte) error
	// PruneIdempotencyRecords deletes the records whose first step
	// committed before before, and returns how many keys it deleted.
	PruneIdempotencyRecords(ctx context.Context, before time.Time) (int, error)
}
