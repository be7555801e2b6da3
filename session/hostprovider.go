package session

import "sync"

// hostProvider cycles through the servers like go-zookeeper's own, except
// that until a session is granted it makes one pass only and then reports
// exhaustion: spacing the attempts that follow is the manager's backoff's
// job, not the client's fixed one-second pause.
type hostProvider struct {
	mu          sync.Mutex
	servers     []string
	next        int
	tried       int // servers tried since the last successful connection
	established bool
	exhausted   chan struct{}
	once        sync.Once
}

func newHostProvider() *hostProvider {
	return &hostProvider{exhausted: make(chan struct{})}
}

func (h *hostProvider) Init(servers []string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.servers = append([]string(nil), servers...)
	return nil
}

func (h *hostProvider) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.servers)
}

func (h *hostProvider) Next() (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	retryStart := h.tried >= len(h.servers)
	if retryStart {
		h.tried = 0
		if !h.established {
			h.once.Do(func() { close(h.exhausted) })
		}
	}
	s := h.servers[h.next]
	h.next = (h.next + 1) % len(h.servers)
	h.tried++
	return s, retryStart
}

func (h *hostProvider) Connected() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tried = 0
}

func (h *hostProvider) establish() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.established = true
}
