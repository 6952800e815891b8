package d1

import (
	"context"
	"encoding/json"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/kv"
	"github.com/orderintake/edge/kvstore"
)

// Store keeps the records authoritative in the table, with completed results
// also written to KV, which every lookup reads first: a replay at the edge
// costs one KV read, as with package kv alone.
type Store struct {
	// Table holds the records: a D1 Table, or any Records (package durable
	// keeps them in Durable Objects).
	Table Records
	// Results, when not nil, keeps a copy of each completed result in KV,
	// read before the table; nil means every lookup reads the table.
	Results *kv.Store
	// Now is the clock of the rows' expiry.
	Now func() time.Time
}

// Lookup tries the results in KV, then the table. The copy in KV can only
// lag, never lie: a result, once stored, does not change until it expires.
// So a copy that cannot be read is passed over, and the table decides.
func (s Store) Lookup(ctx context.Context, key string) (*idempotency.Result, *idempotency.Claim, error) {
	if s.Results != nil {
		if cached, err := s.Results.ReadResult(ctx, key); err == nil && cached != nil {
			return cached, nil, nil
		}
	}
	now := s.Now()
	row, err := s.Table.Get(ctx, key, now)
	if err != nil || row == nil {
		return nil, nil, err
	}
	if !row.Completed {
		return nil, &idempotency.Claim{Fingerprint: row.Fingerprint, ClaimedAt: row.ClaimedAt, LeaseUntil: row.LeaseUntil}, nil
	}
	result := &idempotency.Result{Fingerprint: row.Fingerprint, Status: row.ResponseStatus, Header: row.ResponseHeader,
		Body: row.ResponseBody, CompletedAt: row.CompletedAt, ExpiresAt: row.ExpiresAt}
	s.copyToKV(ctx, key, *result, now) // for the next retry at this edge
	return result, nil, nil
}

// copyToKV writes a copy of r to KV, best effort (the table stays
// authoritative), for the whole seconds the row has left at now, and not at
// all when KV's 60 s floor would keep it beyond the row: the copy may lag
// the table, never outlive it.
func (s Store) copyToKV(ctx context.Context, key string, r idempotency.Result, now time.Time) {
	if left := r.ExpiresAt.Sub(now).Truncate(time.Second); s.Results != nil && left >= kvstore.MinTTLSeconds*time.Second {
		s.Results.WriteResult(ctx, key, r, left)
	}
}

// Claim runs the table's atomic claim. An unfinished claim's row dies with
// its lease: from then on it is only a takeover waiting to happen. The
// statement does not say who holds a key it refused, so the engine looks
// again. The claim id is not stored: the atomic claim already makes
// (claimed_at, fingerprint) name one claim, since a takeover's claimed_at is
// at or after the lease end of the claim it replaces.
func (s Store) Claim(ctx context.Context, key string, c idempotency.Claim) (bool, *idempotency.Claim, error) {
	won, err := s.Table.Claim(ctx, key, c, c.LeaseUntil)
	return won, nil, err
}

// Complete stores the result in the table, then its copy in KV. Only the
// table write decides success: a result missing from KV is read from the
// table and copied by the next lookup.
func (s Store) Complete(ctx context.Context, key string, c idempotency.Claim, r idempotency.Result) error {
	if err := s.Table.Complete(ctx, key, c, r, r.ExpiresAt); err != nil {
		return err
	}
	s.copyToKV(ctx, key, r, s.Now())
	return nil
}

// Release deletes claim c's row, if it is still c's.
func (s Store) Release(ctx context.Context, key string, c idempotency.Claim) error {
	return s.Table.Release(ctx, key, c)
}

// headerJSON is the response_headers column: NULL for no headers (and in
// rows written before the column existed).
func headerJSON(h map[string]string) any {
	if len(h) == 0 {
		return nil
	}
	b, _ := json.Marshal(h) // a string map: cannot fail
	return string(b)
}
