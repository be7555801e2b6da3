package session

import "testing"

func TestHostProviderOnePassUntilEstablished(t *testing.T) {
	h := newHostProvider()
	h.Init([]string{"a:1", "b:2", "c:3"})
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		s, retry := h.Next()
		if retry {
			t.Fatalf("retryStart on try %d of the first pass", i)
		}
		seen[s] = true
	}
	if len(seen) != 3 {
		t.Fatalf("first pass visited %v", seen)
	}
	select {
	case <-h.exhausted:
		t.Fatal("exhausted before the pass ended")
	default:
	}
	if _, retry := h.Next(); !retry {
		t.Fatal("no retryStart after a full pass")
	}
	select {
	case <-h.exhausted:
	default:
		t.Fatal("a failed pass before any session must report exhaustion")
	}
}

func TestHostProviderCyclesOnceEstablished(t *testing.T) {
	h := newHostProvider()
	h.Init([]string{"a:1", "b:2"})
	h.Next()
	h.Connected()
	h.establish()
	for i := 0; i < 5; i++ {
		h.Next()
	}
	select {
	case <-h.exhausted:
		t.Fatal("an established session's reconnects must not end the attempt")
	default:
	}
}
