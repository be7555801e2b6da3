package session

import "testing"

func TestLeaderProof(t *testing.T) {
	const gap = 100
	type step struct {
		conn       uint64
		sent, recv int64
		proven     int64
		ok         bool
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"two syncs prove nothing", []step{
			{1, 0, 10, 0, false},
			{1, 200, 210, 0, false},
		}},
		{"a third sync proves the first, once the second left gap after it", []step{
			{1, 0, 10, 0, false},
			{1, 110, 120, 0, false},
			{1, 130, 140, 0, true},
		}},
		{"x too soon after a's answer proves nothing", []step{
			{1, 0, 10, 0, false},
			{1, 109, 115, 0, false},
			{1, 130, 140, 0, false},
		}},
		{"the latest a that qualifies wins", []step{
			{1, 0, 10, 0, false},
			{1, 50, 60, 0, false},
			{1, 100, 110, 0, false},
			{1, 200, 210, 0, false}, // x sent at 100: no a answered by 0
			{1, 300, 310, 50, true}, // x sent at 200: of those answered by 100, the latest
		}},
		{"a new connection starts over", []step{
			{1, 0, 10, 0, false},
			{1, 200, 210, 0, false},
			{2, 300, 310, 0, false},
			{2, 420, 430, 0, false},
			{2, 500, 510, 300, true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := leaderProof{gap: gap}
			for i, s := range tc.steps {
				got, ok := p.answered(s.conn, s.sent, s.recv)
				if ok != s.ok || (ok && got != s.proven) {
					t.Fatalf("step %d: got (%d, %v), want (%d, %v)", i, got, ok, s.proven, s.ok)
				}
			}
		})
	}
}
