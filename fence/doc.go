// Package fence is the resource's side of fencing: it checks a lease's
// token where the data lives, in the same step as the write, and refuses
// any token lower than the highest the resource has seen.
//
// No lock can stop a holder that pauses (a long GC, a stopped VM) past the
// end of its lease and then writes as if it still held it. Every zkcoord
// lease has a token (Lease.Token, a ZooKeeper zxid) that is strictly higher
// for each later holder; a resource that remembers the highest token it
// has accepted can refuse the late writer, whatever the lock service knew.
//
// # Which one
//
//   - SQL.Do, for data in PostgreSQL or SQLite: a table (Dialect.Schema)
//     keeps each resource's highest token, and Do runs the caller's
//     statements in a transaction that first raises it. The writes and the
//     token commit together or not at all; a stale token is a *StaleError
//     and nothing is written. Use it when a write spans rows or tables.
//   - Row.Update, for a write to one row: the token lives in a column of
//     that row, checked and set by the UPDATE itself. No fence table.
//   - Transport and Middleware, for a service reached over HTTP: the client
//     sends the token in the Zkcoord-Fencing-Token header; the server
//     answers 409 Conflict to a stale one and 400 to a missing or malformed
//     one, and fences its own write with the token (TokenFrom) through
//     SQL.Do or Memory.Do.
//   - Lease.Guard (in mutex, rwlock, semaphore and election), for state
//     kept in ZooKeeper itself: the write is applied in one multi with a
//     check that the holder's node still exists. It needs no token.
//
// # What the checks promise
//
// A token is accepted if it is at least the highest the resource has
// accepted: an equal token is accepted, so that a holder writes more than
// once, and readers of an rwlock that hold it together (and may share a
// token) all write. Concurrent writes to one resource take effect one at a
// time; once a token has taken effect, no lower one does. Tokens are
// int64 > 0; anything else is ErrInvalidToken. A resource is any name the
// writers agree on, usually the lock's path: the first write under any
// token registers it, and Highest reports ErrUnknownResource until then.
//
// Fencing protects only a resource that checks the token. An email sent, a
// payment made through a provider that takes no token, a file written to a
// plain disk: a paused holder's late action there cannot be refused, only
// made harmless (an idempotency key the provider checks) or detected later.
//
// # SQLite and PostgreSQL
//
// Dialect keeps what differs between them; both run the same statements.
// Open SQLite with OpenSQLite, which sets it up for several writers.
// Open PostgreSQL with any database/sql driver, e.g. pgx's:
//
//	import _ "github.com/jackc/pgx/v5/stdlib"
//	db, err := sql.Open("pgx", "postgres://app@db:5432/app")
//	f, err := fence.NewSQL(db, fence.Postgres)
//
// There is no migration framework: Init runs one CREATE TABLE IF NOT
// EXISTS (Dialect.Schema, to run by hand where the application's role may
// not create tables).
package fence
