// Package capture turns a changed business object into what a webhook event
// carries: the object as JSON under its GraphQL field names, and the
// {"new", "old", "changed_fields"} document of one change. Both SQL stores
// use it inside their write transactions so that an event says the same
// thing whichever store recorded it.
//
// It imports only ion and the standard library; it must not import a store
// or a transport.
package capture
