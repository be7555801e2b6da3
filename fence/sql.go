package fence

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// SQL fences resources kept in a SQL database: a table (see Dialect.Schema)
// maps each resource name to the highest token it has accepted, and Do runs
// the caller's statements in a transaction that first raises that token or
// refuses a stale one. It is safe for concurrent use.
//
// A resource is any name the writers agree on, usually the lock's path.
// A resource is known once a token has been accepted for it: the first Do
// or Check registers it, whatever its token, so there is nothing to set up
// per resource.
type SQL struct {
	db *sql.DB
	d  Dialect
}

// NewSQL returns a fence over db, which must be a database of dialect d.
func NewSQL(db *sql.DB, d Dialect) (*SQL, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: nil *sql.DB", ErrInvalidArgument)
	}
	if !d.valid() {
		return nil, fmt.Errorf("%w: zero Dialect (use fence.Postgres or fence.SQLite)", ErrInvalidArgument)
	}
	return &SQL{db: db, d: d}, nil
}

// DB is the database the fence was made with.
func (f *SQL) DB() *sql.DB { return f.db }

// Dialect is the fence's dialect.
func (f *SQL) Dialect() Dialect { return f.d }

// Init creates the fence table if it does not exist: the one statement of
// Dialect.Schema. Call it once at start-up, from one process at a time:
// PostgreSQL may refuse two concurrent CREATE TABLE IF NOT EXISTS.
func (f *SQL) Init(ctx context.Context) error {
	if _, err := f.db.ExecContext(ctx, f.d.schema); err != nil {
		return wrap("creating the fence table", err)
	}
	return nil
}

// Do runs fn in a transaction that first raises resource's highest token to
// token, and commits both or neither. If the resource has accepted a higher
// token, Do refuses it with a *StaleError (errors.Is(err, ErrStale)) and
// fn is not called. If fn returns an error, everything is rolled back,
// the token included, and Do returns fn's error as it is.
//
// An equal token is accepted: readers of an rwlock that hold it together
// share a token, and a holder writes more than once. Concurrent Do calls on
// one resource run one after the other (the fence row stays locked until
// commit), so a lower token can never commit after a higher one did.
//
// fn must do its work through tx, under ctx, and not commit or roll back.
func (f *SQL) Do(ctx context.Context, resource string, token int64, fn func(tx *sql.Tx) error) (err error) {
	if err := checkToken(resource, token); err != nil {
		return err
	}
	tx, err := f.db.BeginTx(ctx, nil)
	if err != nil {
		return wrap(resource, err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback() // also when fn panics
		}
	}()
	if err := f.advance(ctx, tx, resource, token); err != nil {
		return err
	}
	if fn != nil {
		if err := fn(tx); err != nil {
			return err
		}
	}
	committed = true
	if err := tx.Commit(); err != nil {
		return wrap(resource, err)
	}
	return nil
}

// Check raises resource's highest token to token, or refuses a stale one,
// with no other write: Do with nothing to do. A check that is not in the
// same transaction as the write it protects admits writes from a holder
// that is overtaken between the two; use it for admission (as Middleware
// does) and Do for the write itself.
func (f *SQL) Check(ctx context.Context, resource string, token int64) error {
	return f.Do(ctx, resource, token, nil)
}

func (f *SQL) advance(ctx context.Context, tx *sql.Tx, resource string, token int64) error {
	res, err := tx.ExecContext(ctx, f.d.advance(), resource, token)
	if err != nil {
		return wrap(resource, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap(resource, err)
	}
	if n == 1 {
		return nil
	}
	var highest int64
	if err := tx.QueryRowContext(ctx, f.d.highest(), resource).Scan(&highest); err != nil {
		return wrap(resource, err)
	}
	return &StaleError{Resource: resource, Token: token, Highest: highest}
}

// Highest is the highest token resource has accepted, or ErrUnknownResource
// if it has accepted none.
func (f *SQL) Highest(ctx context.Context, resource string) (int64, error) {
	if resource == "" {
		return 0, fmt.Errorf("%w: empty resource name", ErrInvalidArgument)
	}
	var highest int64
	err := f.db.QueryRowContext(ctx, f.d.highest(), resource).Scan(&highest)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%w: %s has accepted no token", ErrUnknownResource, resource)
	}
	if err != nil {
		return 0, wrap(resource, err)
	}
	return highest, nil
}

// wrap names what failed and marks a closed database with ErrClosed.
func wrap(what string, err error) error {
	// database/sql keeps its "database is closed" error unexported: its
	// text is all there is to go by.
	if strings.Contains(err.Error(), "sql: database is closed") {
		return fmt.Errorf("%w: %s: %w", ErrClosed, what, err)
	}
	return fmt.Errorf("fence: %s: %w", what, err)
}
