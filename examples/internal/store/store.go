// Package store opens the database an example keeps its data in:
// PostgreSQL when POSTGRES_URL is set, else SQLite in a file of a new
// temporary directory. Either way the data is fenced by zkcoord/fence.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/zkcoord/zkcoord/fence"
)

// DB is an example's database and the fence over it.
type DB struct {
	*sql.DB
	Fence *fence.SQL
	Where string // what and where, for the example's output
	dir   string // SQLite's temporary directory
}

// Open opens the database for the example called name, with the fence
// table created.
func Open(ctx context.Context, name string) (*DB, error) {
	db := &DB{}
	var err error
	var d fence.Dialect
	if url := strings.TrimSpace(os.Getenv("POSTGRES_URL")); url != "" {
		d, db.Where = fence.Postgres, "PostgreSQL (POSTGRES_URL)"
		db.DB, err = sql.Open("pgx", url)
		if err == nil {
			err = db.PingContext(ctx)
		}
	} else {
		if db.dir, err = os.MkdirTemp("", name+"-"); err != nil {
			return nil, err
		}
		file := filepath.Join(db.dir, name+".db")
		d, db.Where = fence.SQLite, "SQLite ("+file+"; set POSTGRES_URL for PostgreSQL)"
		db.DB, err = fence.OpenSQLite(file)
	}
	if err == nil {
		db.Fence, err = fence.NewSQL(db.DB, d)
	}
	if err == nil {
		err = db.Fence.Init(ctx)
	}
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%s: opening the database: %w", name, err)
	}
	return db, nil
}

// Close closes the database and removes SQLite's file.
func (db *DB) Close() error {
	var err error
	if db.DB != nil {
		err = db.DB.Close()
	}
	if db.dir != "" {
		_ = os.RemoveAll(db.dir)
	}
	return err
}

// Q rewrites a statement's ? parameters as $1, $2, ... for PostgreSQL.
func (db *DB) Q(query string) string {
	if db.Fence.Dialect() != fence.Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Reset starts the example afresh on a database that may hold an earlier
// run's data (PostgreSQL is not a new file every time): it runs the
// statements that recreate the example's tables and forgets the tokens of
// resources under prefix, which a new ZooKeeper ensemble numbers from low
// again.
func (db *DB) Reset(ctx context.Context, prefix string, stmts ...string) error {
	if _, err := db.ExecContext(ctx, db.Q("DELETE FROM zkcoord_fence WHERE resource LIKE ?"), prefix+"%"); err != nil {
		return err
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}
