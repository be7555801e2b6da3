package fence

import (
	"context"
	"fmt"
	"sync"
)

// Memory fences resources whose state lives in the memory of one process,
// such as a service behind Middleware that keeps no database. It forgets
// everything when the process ends: a restarted process must not accept
// writes for a resource before it has learned the highest token again.
// The zero Memory is ready to use; it is safe for concurrent use.
type Memory struct {
	mu      sync.Mutex
	highest map[string]int64
}

// Do calls fn with token accepted for resource, or returns a *StaleError
// without calling it. Other Do and Check calls wait meanwhile, so fn's
// effects and the token are one step. If fn fails, the token is not
// raised (fn must then have changed nothing).
func (m *Memory) Do(resource string, token int64, fn func() error) error {
	if err := checkToken(resource, token); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if h := m.highest[resource]; token < h {
		return &StaleError{Resource: resource, Token: token, Highest: h}
	}
	if fn != nil {
		if err := fn(); err != nil {
			return err
		}
	}
	if m.highest == nil {
		m.highest = make(map[string]int64)
	}
	m.highest[resource] = token
	return nil
}

// Check is Do with nothing to do.
func (m *Memory) Check(_ context.Context, resource string, token int64) error {
	return m.Do(resource, token, nil)
}

// Highest is the highest token resource has accepted, or ErrUnknownResource.
func (m *Memory) Highest(resource string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.highest[resource]
	if !ok {
		return 0, fmt.Errorf("%w: %s has accepted no token", ErrUnknownResource, resource)
	}
	return h, nil
}
