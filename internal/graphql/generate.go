package graphql

// The schema (schema/*.graphqls) is the source; gqlgen writes the executor
// (generated/), the input and payload models (model/models_gen.go) and the
// resolver stubs (*.resolvers.go, whose bodies it keeps). inorderlists then
// points the executor's list marshaling at generated/lists.go, lazydefer
// its deferred groups at generated/deferred.go, and plainfields its struct
// fields at generated/plainfields.go.
//go:generate go tool gqlgen generate --config gqlgen.yml
//go:generate go run ./internal/inorderlists generated/generated.go
//go:generate go run ./internal/lazydefer generated/generated.go
//go:generate go run ./internal/plainfields generated/generated.go
