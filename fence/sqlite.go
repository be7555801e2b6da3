package fence

import (
	"database/sql"
	"fmt"
	"net/url"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// OpenSQLite opens (creating it if need be) the SQLite database in the file
// at path, set up for several writers: transactions take the write lock as
// they begin (a fenced transaction writes first, and a deferred one that is
// overtaken could only fail), writers wait up to five seconds for each
// other instead of failing with SQLITE_BUSY, and the journal is a WAL so
// that readers do not wait for writers. Use it with the SQLite dialect.
//
// A file, not ":memory:": each connection to ":memory:" is a database of
// its own, so a fence there would not be shared.
func OpenSQLite(path string) (*sql.DB, error) {
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("%w: SQLite fence needs a file, not %q", ErrInvalidArgument, path)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("fence: opening %s: %w", path, err)
	}
	if err := db.Ping(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("fence: opening %s: %w", path, err)
	}
	return db, nil
}
