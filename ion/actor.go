package ion

import "context"

// Actor is who a request acts as: an authenticated user (directly or through
// one of their API keys) of one organization in one environment.
type Actor struct {
	Environment  string
	Organization Organization
	User         User
	ClientID     string // the API key's client id, "" otherwise
}

type actorKey struct{}

// WithActor returns a context carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor carried by ctx, if any.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// APIKeyService creates and manages API keys. Secrets are returned exactly
// once, by the call that makes them; only a keyed hash is stored.
type APIKeyService interface {
	// CreateAPIKey makes a key that acts as user userID of organization
	// orgID in environment env.
	CreateAPIKey(ctx context.Context, env string, orgID, userID ID) (key APIKey, secret string, err error)
	// UpdateAPIKey enables or disables a key of organization orgID and, with
	// regenerate, replaces its secret (returned once). NOT_FOUND for a key of
	// another organization; CONFLICT for a stale etag.
	UpdateAPIKey(ctx context.Context, orgID ID, clientID, etag string, enabled *bool, regenerate bool) (key APIKey, secret string, err error)
	// DeleteAPIKey deletes a key of organization orgID and returns it.
	DeleteAPIKey(ctx context.Context, orgID ID, clientID, etag string) (APIKey, error)
}
