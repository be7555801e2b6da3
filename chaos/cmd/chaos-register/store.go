package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/zkcoord/zkcoord/fence"
)

// store keeps a register's keys in a database: SQLite in a file by
// default, PostgreSQL when POSTGRES_URL is set. The fenced register writes
// through fence.SQL.Do, so it is the fence, where the data lives, that
// accepts or refuses each write; the unfenced one writes the same rows
// without it.
type store struct {
	db     *sql.DB
	fence  *fence.SQL
	name   string // the register's: its table and fence resources are its own
	table  string
	fenced bool
}

func openStore(ctx context.Context, name, sqlitePath string, fenced bool) (*store, error) {
	s := &store{name: name, table: "chaos_register_" + name, fenced: fenced}
	var err error
	d := fence.SQLite
	if url := strings.TrimSpace(os.Getenv("POSTGRES_URL")); url != "" {
		d = fence.Postgres
		s.db, err = sql.Open("pgx", url)
	} else {
		s.db, err = fence.OpenSQLite(sqlitePath)
	}
	if err == nil {
		s.fence, err = fence.NewSQL(s.db, d)
	}
	// A run starts from empty registers: PostgreSQL keeps an earlier run's,
	// whose tokens came from another ensemble.
	for _, stmt := range []string{
		s.fence.Dialect().Schema(),
		s.q("DELETE FROM zkcoord_fence WHERE resource LIKE ?"),
		"DROP TABLE IF EXISTS " + s.table,
		"CREATE TABLE " + s.table + " (key TEXT PRIMARY KEY, value TEXT NOT NULL, token BIGINT NOT NULL, high BIGINT NOT NULL)",
	} {
		if err != nil {
			break
		}
		var args []any
		if strings.Contains(stmt, "zkcoord_fence WHERE") {
			args = append(args, name+"/%")
		}
		_, err = s.db.ExecContext(ctx, stmt, args...)
	}
	if err != nil {
		if s.db != nil {
			_ = s.db.Close()
		}
		return nil, fmt.Errorf("register %s: database: %w", name, err)
	}
	return s, nil
}

// q rewrites ? parameters as $1, $2, ... for PostgreSQL.
func (s *store) q(query string) string {
	if s.fence == nil || s.fence.Dialect() != fence.Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// write sets key to value under token unless fenced and stale. high is the
// highest accepted token of key before the write.
func (s *store) write(ctx context.Context, key string, token int64, value string) (accepted bool, high int64, err error) {
	apply := func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q("SELECT high FROM "+s.table+" WHERE key = ?"), key).Scan(&high)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q("INSERT INTO "+s.table+" (key, value, token, high) VALUES (?, ?, ?, ?)"+
			" ON CONFLICT (key) DO UPDATE SET value = excluded.value, token = excluded.token,"+
			" high = CASE WHEN "+s.table+".high > excluded.high THEN "+s.table+".high ELSE excluded.high END"),
			key, value, token, token)
		return err
	}
	if s.fenced {
		err = s.fence.Do(ctx, s.name+"/"+key, token, apply)
		var stale *fence.StaleError
		if errors.As(err, &stale) {
			return false, stale.Highest, nil
		}
		return err == nil, high, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, 0, err
	}
	if err := apply(tx); err != nil {
		_ = tx.Rollback()
		return false, 0, err
	}
	return true, high, tx.Commit()
}

// read is key's value, the token it was written with, and the highest
// token accepted for key.
func (s *store) read(ctx context.Context, key string) (token int64, value string, high int64, err error) {
	err = s.db.QueryRowContext(ctx, s.q("SELECT token, value, high FROM "+s.table+" WHERE key = ?"), key).Scan(&token, &value, &high)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", 0, nil
	}
	return token, value, high, err
}

func (s *store) close() error { return s.db.Close() }
