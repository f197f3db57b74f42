// Package model holds the Go types behind the GraphQL schema that are not ion
// entities: the custom scalars (ID, DateTime, Decimal, GenericScalar), the
// Relay connection and edge types, and the input and payload structs that
// gqlgen generates into models_gen.go.
package model
