// Package memory is an idempotency.Store in a Go map: for tests, and for
// native Go servers with one process (the stand-in order gateway). One mutex
// makes every method atomic, so of concurrent claims exactly one wins.
// Records are copied in and out, as a database would: changing a result
// Lookup returned changes nothing stored.
package memory

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/orderintake/edge/idempotency"
)

// sweepEvery is how many claims pass between sweeps of expired records, so a
// long-running process does not keep every key it ever saw.
const sweepEvery = 1024

// Store is an in-memory idempotency.Store. The zero value is not usable: call New.
type Store struct {
	mu      sync.Mutex
	now     func() time.Time
	records map[string]record
	claims  int
}

type record struct {
	claim  *idempotency.Claim
	result *idempotency.Result
}

// New returns an empty store whose records expire on the clock now (nil:
// time.Now).
func New(now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{now: now, records: map[string]record{}}
}

// Lookup returns the live result under key or, when there is none, the claim.
func (s *Store) Lookup(_ context.Context, key string) (*idempotency.Result, *idempotency.Claim, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.live(key)
	var result *idempotency.Result
	if r.result != nil {
		result = copyResult(*r.result)
	}
	var claim *idempotency.Claim
	if r.claim != nil {
		held := *r.claim
		claim = &held
	}
	return result, claim, nil
}

// Claim stores c unless a live result or a live claim holds key.
func (s *Store) Claim(_ context.Context, key string, c idempotency.Claim) (bool, *idempotency.Claim, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.claims++; s.claims%sweepEvery == 0 {
		s.sweep()
	}
	r := s.live(key)
	if r.result != nil {
		return false, nil, nil
	}
	if r.claim != nil && c.ClaimedAt.Before(r.claim.LeaseUntil) {
		holder := *r.claim
		return false, &holder, nil
	}
	held := c
	s.records[key] = record{claim: &held}
	return true, &c, nil
}

// Complete replaces claim c with result r, if c still holds key.
func (s *Store) Complete(_ context.Context, key string, c idempotency.Claim, r idempotency.Result) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if held := s.records[key].claim; held == nil || held.ID != c.ID {
		return idempotency.ErrClaimLost
	}
	s.records[key] = record{result: copyResult(r)}
	return nil
}

// copyResult copies r with its header map: what the store keeps and what
// it hands out share nothing a caller could change.
func copyResult(r idempotency.Result) *idempotency.Result {
	r.Header = maps.Clone(r.Header)
	return &r
}

// Release deletes claim c, if it still holds key.
func (s *Store) Release(_ context.Context, key string, c idempotency.Claim) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if held := s.records[key].claim; held != nil && held.ID == c.ID {
		delete(s.records, key)
	}
	return nil
}

// Len returns how many records the store holds, expired ones not yet swept
// included.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records)
}

// live returns the record under key, dropping a result that has expired.
func (s *Store) live(key string) record {
	r := s.records[key]
	if r.result != nil && !s.now().Before(r.result.ExpiresAt) {
		delete(s.records, key)
		return record{}
	}
	return r
}

// sweep drops expired results and claims whose lease has ended.
func (s *Store) sweep() {
	now := s.now()
	for key, r := range s.records {
		if (r.result != nil && !now.Before(r.result.ExpiresAt)) || (r.claim != nil && !now.Before(r.claim.LeaseUntil)) {
			delete(s.records, key)
		}
	}
}
