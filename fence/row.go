package fence

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Row fences a row by a column of its own: the token of the last write is
// kept in the row it protects, so a single-row update needs no fence table
// and no transaction. Use SQL.Do when a write spans rows or tables.
type Row struct {
	Dialect     Dialect
	Table       string // plain identifiers, optionally schema.table
	KeyColumn   string // the column that identifies the row, e.g. id
	FenceColumn string // an integer column, NULL or 0 until a holder writes
}

// Execer is what Row.Update runs on: a *sql.DB, *sql.Tx or *sql.Conn.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Col is one assignment of an update.
type Col struct {
	Name  string
	Value any
}

// Update sets the columns of the row whose key column equals key, and its
// fence column to token, in one statement:
//
//	UPDATE t SET a = $1, …, fence = $n WHERE key = $m AND COALESCE(fence, 0) <= $n
//
// If the row holds a higher token, nothing changes and Update returns a
// *StaleError; if there is no such row, ErrUnknownResource. (Which of the
// two is told by a second statement: on q a transaction, both are exact.)
func (r Row) Update(ctx context.Context, q Execer, key any, token int64, set ...Col) error {
	resource := fmt.Sprintf("%s[%s=%v]", r.Table, r.KeyColumn, key)
	if err := checkToken(resource, token); err != nil {
		return err
	}
	if q == nil {
		return fmt.Errorf("%w: nil Execer", ErrInvalidArgument)
	}
	if !r.Dialect.valid() {
		return fmt.Errorf("%w: Row with a zero Dialect", ErrInvalidArgument)
	}
	cols := make([]string, len(set))
	args := make([]any, 0, len(set)+2)
	for i, c := range set {
		cols[i] = c.Name
		args = append(args, c.Value)
	}
	stmt, err := r.Dialect.updateRow(r.Table, r.KeyColumn, r.FenceColumn, cols)
	if err != nil {
		return err
	}
	res, err := q.ExecContext(ctx, stmt, append(args, token, key)...)
	if err != nil {
		return wrap(resource, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap(resource, err)
	}
	if n > 0 {
		return nil
	}
	var highest int64
	err = q.QueryRowContext(ctx, r.Dialect.rowToken(r.Table, r.KeyColumn, r.FenceColumn), key).Scan(&highest)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: no row %s", ErrUnknownResource, resource)
	}
	if err != nil {
		return wrap(resource, err)
	}
	if highest <= token { // not there when updated, inserted since
		return fmt.Errorf("%w: no row %s when updated", ErrUnknownResource, resource)
	}
	return &StaleError{Resource: resource, Token: token, Highest: highest}
}
