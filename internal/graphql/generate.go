package graphql

// The schema (schema/*.graphqls) is the source; gqlgen writes the executor
// (generated/), the input and payload models (model/models_gen.go) and the
// resolver stubs (*.resolvers.go, whose bodies it keeps).
//go:generate go run github.com/99designs/gqlgen generate --config gqlgen.yml
