package fence

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// A Dialect is what differs between the SQL databases fence supports: the
// schema of the fence table and how statements number their parameters.
// Everything else is the same text in both, so that a statement tested on
// SQLite is the statement PostgreSQL runs.
type Dialect struct {
	name   string
	param  string // "$" for $1, "?" for ?1: both let a statement use a parameter twice
	schema string
}

var (
	// Postgres is PostgreSQL 9.5 or later (for INSERT … ON CONFLICT),
	// through any database/sql driver, e.g. github.com/jackc/pgx/v5/stdlib.
	Postgres = Dialect{
		name:  "postgres",
		param: "$",
		schema: `CREATE TABLE IF NOT EXISTS zkcoord_fence (
	resource TEXT PRIMARY KEY,
	token BIGINT NOT NULL CHECK (token > 0)
)`,
	}

	// SQLite is SQLite 3.24 or later (for upserts), e.g. modernc.org/sqlite
	// through OpenSQLite. Opened otherwise, concurrent writers need a busy
	// timeout, and transactions that take the write lock as they begin
	// (modernc: _txlock=immediate), or they fail with SQLITE_BUSY.
	SQLite = Dialect{
		name:  "sqlite",
		param: "?",
		schema: `CREATE TABLE IF NOT EXISTS zkcoord_fence (
	resource TEXT PRIMARY KEY,
	token INTEGER NOT NULL CHECK (token > 0)
) WITHOUT ROWID`,
	}
)

func (d Dialect) String() string { return d.name }

func (d Dialect) valid() bool { return d.name != "" }

// Schema is the one statement that creates the fence table, which maps
// each resource to the highest token it has accepted. SQL.Init runs it; run
// it yourself instead where the application's role may not create tables.
func (d Dialect) Schema() string { return d.schema }

// p is the i-th parameter (from 1).
func (d Dialect) p(i int) string { return d.param + strconv.Itoa(i) }

// advance raises a resource's token to $2, or inserts the resource, unless
// its token is already higher: one row affected if the token is accepted,
// none if it is stale. The row stays locked until the transaction ends, so
// that no higher token can be accepted in between and the caller's writes
// commit with it or not at all.
func (d Dialect) advance() string {
	return "INSERT INTO zkcoord_fence (resource, token) VALUES (" + d.p(1) + ", " + d.p(2) + ")" +
		" ON CONFLICT (resource) DO UPDATE SET token = excluded.token" +
		" WHERE zkcoord_fence.token <= excluded.token"
}

func (d Dialect) highest() string {
	return "SELECT token FROM zkcoord_fence WHERE resource = " + d.p(1)
}

// identifier accepts a plain SQL name, optionally schema-qualified, and
// quotes each part: a table or column name is never taken from a string
// that could carry SQL of its own.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

func quote(name string) (string, error) {
	if !identifier.MatchString(name) {
		return "", fmt.Errorf("%w: %q is not a plain SQL identifier", ErrInvalidArgument, name)
	}
	return `"` + strings.ReplaceAll(name, ".", `"."`) + `"`, nil
}

// updateRow builds Row.Update's statement: the caller's assignments and the
// token in one UPDATE that matches no row when the row's token is higher.
// Its arguments are the set values in the order given, then the token, then
// the key.
func (d Dialect) updateRow(table, keyCol, fenceCol string, set []string) (string, error) {
	t, err := quote(table)
	if err != nil {
		return "", err
	}
	k, err := quote(keyCol)
	if err != nil {
		return "", err
	}
	f, err := quote(fenceCol)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("UPDATE " + t + " SET ")
	for i, col := range set {
		c, err := quote(col)
		if err != nil {
			return "", err
		}
		if c == f {
			return "", fmt.Errorf("%w: column %s is the fence column, set by the token", ErrInvalidArgument, col)
		}
		b.WriteString(c + " = " + d.p(i+1) + ", ")
	}
	tok, key := d.p(len(set)+1), d.p(len(set)+2)
	// A NULL token is a row no holder has written yet.
	b.WriteString(f + " = " + tok + " WHERE " + k + " = " + key + " AND COALESCE(" + f + ", 0) <= " + tok)
	return b.String(), nil
}

func (d Dialect) rowToken(table, keyCol, fenceCol string) string {
	t, _ := quote(table) // checked by updateRow
	k, _ := quote(keyCol)
	f, _ := quote(fenceCol)
	return "SELECT COALESCE(" + f + ", 0) FROM " + t + " WHERE " + k + " = " + d.p(1)
}
