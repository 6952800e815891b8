package d1

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/orderintake/edge/idempotency"
)

// FakeTable is an in-memory Table for native tests. One mutex makes every
// method atomic, as SQLite makes every statement atomic, and each method
// applies the same conditions as its statement in SQLTable. Fail makes the
// next call of one method fail; Statements counts calls per method.
type FakeTable struct {
	mu         sync.Mutex
	rows       map[string]Row
	fail       map[string]error
	statements map[string]int
}

// NewFakeTable returns an empty table.
func NewFakeTable() *FakeTable {
	return &FakeTable{rows: map[string]Row{}, fail: map[string]error{}, statements: map[string]int{}}
}

// Fail makes the next call of method ("Get", "Claim", "Complete", "Release"
// or "DeleteExpired") return err.
func (t *FakeTable) Fail(method string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fail[method] = err
}

// Statements reports how many times method was called.
func (t *FakeTable) Statements(method string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.statements[method]
}

// Row returns the row under key as stored, expired or not.
func (t *FakeTable) Row(key string) (Row, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.rows[key]
	return r, ok
}

// Put stores a row as it is, for arranging a test.
func (t *FakeTable) Put(key string, r Row) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rows[key] = r
}

func (t *FakeTable) begin(method string) error {
	t.statements[method]++
	err := t.fail[method]
	delete(t.fail, method)
	return err
}

// Get returns the live row under key, as SQLGet does.
func (t *FakeTable) Get(_ context.Context, key string, now time.Time) (*Row, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.begin("Get"); err != nil {
		return nil, err
	}
	r, ok := t.rows[key]
	if !ok || !r.ExpiresAt.After(now) {
		return nil, nil
	}
	r.ResponseHeader = maps.Clone(r.ResponseHeader) // a row read is a copy, as SQL's is
	return &r, nil
}

// Claim inserts or takes over the row under key, on the conditions of SQLClaim.
func (t *FakeTable) Claim(_ context.Context, key string, c idempotency.Claim, expiresAt time.Time) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.begin("Claim"); err != nil {
		return false, err
	}
	if r, ok := t.rows[key]; ok {
		expired := !r.ExpiresAt.After(c.ClaimedAt)
		leaseEnded := !r.Completed && !r.LeaseUntil.After(c.ClaimedAt)
		if !expired && !leaseEnded {
			return false, nil
		}
	}
	t.rows[key] = Row{Fingerprint: c.Fingerprint, ClaimedAt: c.ClaimedAt, LeaseUntil: c.LeaseUntil, ExpiresAt: expiresAt}
	return true, nil
}

// Complete turns claim c's row into the result, as SQLComplete does.
func (t *FakeTable) Complete(_ context.Context, key string, c idempotency.Claim, res idempotency.Result, expiresAt time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.begin("Complete"); err != nil {
		return err
	}
	r, ok := t.rows[key]
	if !ok || r.Completed || !r.ClaimedAt.Equal(c.ClaimedAt) || r.Fingerprint != c.Fingerprint {
		return idempotency.ErrClaimLost
	}
	r.Completed, r.ResponseStatus, r.ResponseHeader, r.ResponseBody = true, res.Status, maps.Clone(res.Header), res.Body
	r.CompletedAt, r.ExpiresAt = res.CompletedAt, expiresAt
	t.rows[key] = r
	return nil
}

// Release deletes claim c's row, if it is still c's.
func (t *FakeTable) Release(_ context.Context, key string, c idempotency.Claim) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.begin("Release"); err != nil {
		return err
	}
	if r, ok := t.rows[key]; ok && !r.Completed && r.ClaimedAt.Equal(c.ClaimedAt) && r.Fingerprint == c.Fingerprint {
		delete(t.rows, key)
	}
	return nil
}

// DeleteExpired deletes at most limit rows that expired at now.
func (t *FakeTable) DeleteExpired(_ context.Context, now time.Time, limit int) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.begin("DeleteExpired"); err != nil {
		return 0, err
	}
	deleted := 0
	for key, r := range t.rows {
		if deleted == limit {
			break
		}
		if !r.ExpiresAt.After(now) {
			delete(t.rows, key)
			deleted++
		}
	}
	return deleted, nil
}
