package fence_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/zkcoord/zkcoord/fence"
)

// Holder A (token 10) writes and pauses; B (token 11) writes; A wakes up
// and its write is refused. In a program the tokens come from
// lease.Token().
func ExampleSQL_Do() {
	dir, _ := os.MkdirTemp("", "fence-example-")
	defer os.RemoveAll(dir)
	db, err := fence.OpenSQLite(filepath.Join(dir, "shop.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	ctx := context.Background()
	f, _ := fence.NewSQL(db, fence.SQLite)
	if err := f.Init(ctx); err != nil {
		panic(err)
	}
	_, _ = db.ExecContext(ctx, "CREATE TABLE sales (buyer TEXT)")

	sell := func(buyer string, token int64) error {
		return f.Do(ctx, "/shop/last-item", token, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO sales (buyer) VALUES (?)", buyer)
			return err
		})
	}
	fmt.Println("A:", sell("A", 10))
	fmt.Println("B:", sell("B", 11))
	err = sell("A again", 10)
	fmt.Println("A, late:", err, errors.Is(err, fence.ErrStale))
	var n int
	_ = db.QueryRowContext(ctx, "SELECT count(*) FROM sales").Scan(&n)
	fmt.Println("sales:", n)
	// Output:
	// A: <nil>
	// B: <nil>
	// A, late: fence: /shop/last-item: stale token 10 < highest 11: write refused true
	// sales: 2
}

// A fenced column on the row itself: no fence table.
func ExampleRow_Update() {
	dir, _ := os.MkdirTemp("", "fence-example-")
	defer os.RemoveAll(dir)
	db, _ := fence.OpenSQLite(filepath.Join(dir, "jobs.db"))
	defer db.Close()
	ctx := context.Background()
	_, _ = db.ExecContext(ctx, "CREATE TABLE jobs (name TEXT PRIMARY KEY, state TEXT, fence_token INTEGER)")
	_, _ = db.ExecContext(ctx, "INSERT INTO jobs (name, state) VALUES ('payouts', 'pending')")

	jobs := fence.Row{Dialect: fence.SQLite, Table: "jobs", KeyColumn: "name", FenceColumn: "fence_token"}
	fmt.Println(jobs.Update(ctx, db, "payouts", 11, fence.Col{Name: "state", Value: "done"}))
	fmt.Println(jobs.Update(ctx, db, "payouts", 10, fence.Col{Name: "state", Value: "pending"}))
	// Output:
	// <nil>
	// fence: jobs[name=payouts]: stale token 10 < highest 11: write refused
}

// A client sends its lease's token; the server refuses a stale one with
// 409 Conflict before its handler runs.
func ExampleMiddleware() {
	var highest fence.Memory
	srv := httptest.NewServer(fence.Middleware(&highest, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, _ := fence.TokenFrom(r.Context())
		fmt.Fprintf(w, "accepted %d", token)
	})))
	defer srv.Close()

	for _, token := range []int64{11, 10} {
		client := &http.Client{Transport: &fence.Transport{Token: token}}
		resp, err := client.Post(srv.URL+"/inventory", "text/plain", nil)
		if err != nil {
			panic(err)
		}
		fmt.Println(token, resp.Status, fence.ResponseError(resp))
		_ = resp.Body.Close()
		client.CloseIdleConnections()
	}
	// Output:
	// 11 200 OK <nil>
	// 10 409 Conflict fence: /inventory: stale token 10 < highest 11: write refused
}
