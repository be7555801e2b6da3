package election

import (
	"bytes"
	"context"

	"github.com/go-zookeeper/zk"
	"github.com/zkcoord/zkcoord/recipes"
	"github.com/zkcoord/zkcoord/session"
)

// Election is one election, shared by every process that opens the same
// path. It holds no state of its own: each Campaign is a separate
// candidacy, and an Election may campaign, observe and run at once.
type Election struct {
	q        *recipes.Queue
	identity string
	value    []byte
}

// Option configures an Election.
type Option func(*options)

type options struct {
	identity string
	value    []byte
	acl      []zk.ACL
	observer recipes.Observer
}

// WithIdentity sets who this candidate says it is, in its node, for
// observers and Curator peers. Default: the manager's identity.
func WithIdentity(id string) Option { return func(o *options) { o.identity = id } }

// WithValue sets the value every Campaign of this Election (and so every
// term Run starts) publishes from its first instant as leader, such as the
// candidate's address; see CampaignWith.
func WithValue(value []byte) Option {
	return func(o *options) { o.value = bytes.Clone(value) }
}

// WithACL sets the ACL of the candidates' nodes and of the directory the
// election creates. Default: open to all (zk.WorldACL(zk.PermAll)).
func WithACL(acl []zk.ACL) Option { return func(o *options) { o.acl = acl } }

// WithObserver reports every election won, resignation, loss and abandoned
// campaign to o, e.g. otelmetrics' Observer.
func WithObserver(o recipes.Observer) Option { return func(o2 *options) { o2.observer = o } }

// New returns the election at path. Nothing is written until Campaign.
func New(m *session.Manager, path string, opts ...Option) (*Election, error) {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	q, err := recipes.NewQueue(m, path, o.acl, recipes.LatchMarkers()...)
	if err != nil {
		return nil, err
	}
	if o.identity == "" {
		o.identity = m.Identity()
	}
	if err := validIdentity(o.identity); err != nil {
		return nil, err
	}
	if err := recipes.ValidateData(nodeData(o.identity, o.value)); err != nil {
		return nil, err
	}
	q.Observe("election", o.observer)
	return &Election{q: q, identity: o.identity, value: o.value}, nil
}

// Campaign joins the election and waits until the caller leads, ctx ends
// or the manager is closed. A campaign given up leaves nothing behind and
// does not delay the candidates after it. A session lost while waiting only
// costs the candidate its place: it joins again, at the back, in the next.
// It campaigns with the value set by WithValue, if any.
func (e *Election) Campaign(ctx context.Context) (*Leadership, error) {
	return e.CampaignWith(ctx, e.value)
}

// CampaignWith is Campaign with a value to publish, as etcd's
// Campaign(ctx, val): the value is written into the candidate's node when
// it joins, so Leader and Observe report the value from the first instant
// the candidate leads, never a leader without one. Proclaim replaces it
// later. Identity and value together must fit in recipes.MaxDataLen.
//
// Curator peers in the same election see the candidate's id as its node's
// bytes: the identity, a NUL, then the value.
func (e *Election) CampaignWith(ctx context.Context, value []byte) (*Leadership, error) {
	data := nodeData(e.identity, value)
	if err := recipes.ValidateData(data); err != nil {
		return nil, err
	}
	l, err := e.q.Acquire(ctx, recipes.MarkerLatch, data, recipes.Exclusive, false)
	if err != nil {
		return nil, err
	}
	return &Leadership{lease: l, identity: e.identity}, nil
}
