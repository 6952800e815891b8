package idempotency_test

import (
	"context"
	"sync"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/memory"
	"github.com/orderintake/edge/kvstore"
)

// t0 is when every test's clock starts.
var t0 = time.Date(2026, 11, 23, 14, 30, 50, 123e6, time.UTC)

// spyStore is a Store that counts the calls of each method and lets a test
// replace any of them; a method left nil is the wrapped store's.
type spyStore struct {
	next idempotency.Store

	mu       sync.Mutex
	calls    map[string]int
	lookup   func(ctx context.Context, key string) (*idempotency.Result, *idempotency.Claim, error)
	claim    func(ctx context.Context, key string, c idempotency.Claim) (bool, *idempotency.Claim, error)
	complete func(ctx context.Context, key string, c idempotency.Claim, r idempotency.Result) error
	release  func(ctx context.Context, key string, c idempotency.Claim) error
	claims   []idempotency.Claim // every claim passed to Claim
}

func newSpyStore(next idempotency.Store) *spyStore {
	return &spyStore{next: next, calls: map[string]int{}}
}

func (s *spyStore) count(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[method]++
}

// Calls reports how many times method was called; "" sums every method.
func (s *spyStore) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if method != "" {
		return s.calls[method]
	}
	n := 0
	for _, c := range s.calls {
		n += c
	}
	return n
}

func (s *spyStore) Lookup(ctx context.Context, key string) (*idempotency.Result, *idempotency.Claim, error) {
	s.count("Lookup")
	if s.lookup != nil {
		return s.lookup(ctx, key)
	}
	return s.next.Lookup(ctx, key)
}

func (s *spyStore) Claim(ctx context.Context, key string, c idempotency.Claim) (bool, *idempotency.Claim, error) {
	s.count("Claim")
	s.mu.Lock()
	s.claims = append(s.claims, c)
	s.mu.Unlock()
	if s.claim != nil {
		return s.claim(ctx, key, c)
	}
	return s.next.Claim(ctx, key, c)
}

func (s *spyStore) Complete(ctx context.Context, key string, c idempotency.Claim, r idempotency.Result) error {
	s.count("Complete")
	if s.complete != nil {
		return s.complete(ctx, key, c, r)
	}
	return s.next.Complete(ctx, key, c, r)
}

func (s *spyStore) Release(ctx context.Context, key string, c idempotency.Claim) error {
	s.count("Release")
	if s.release != nil {
		return s.release(ctx, key, c)
	}
	return s.next.Release(ctx, key, c)
}

// newEngine is an engine over a spy of the in-memory store, with a 30 s lease
// and a day's retention on a clock stopped at t0.
func newEngine() (*idempotency.Engine, *spyStore, *kvstore.Clock) {
	clock := kvstore.NewClock(t0)
	store := newSpyStore(memory.New(clock.Now))
	return &idempotency.Engine{Store: store, Lease: 30 * time.Second, Retention: 24 * time.Hour, Now: clock.Now}, store, clock
}

// counter counts the runs of a function.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) inc() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return c.n
}

func (c *counter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
