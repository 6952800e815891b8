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
// costs one KV read, as with package kv alone. Cache may be nil: then every
// lookup reads the table. Table is a D1 Table, or any Records (package
// durable keeps them in Durable Objects).
type Store struct {
	Table Records
	Cache *kv.Store
	Now   func() time.Time
}

// Lookup tries the KV cache, then the table. The cache can only lag, never
// lie: a result, once stored, does not change until it expires. So a cache
// that cannot be read is passed over, and the table decides.
func (s Store) Lookup(ctx context.Context, key string) (*idempotency.Result, *idempotency.Claim, error) {
	if s.Cache != nil {
		if cached, err := s.Cache.ReadResult(ctx, key); err == nil && cached != nil {
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
	s.cache(ctx, key, *result, now) // for the next retry at this edge
	return result, nil, nil
}

// cache writes r to the KV cache, best effort (the table stays
// authoritative), for the whole seconds the row has left at now, and not at
// all when KV's 60 s floor would keep it beyond the row: the cache may lag
// the table, never outlive it.
func (s Store) cache(ctx context.Context, key string, r idempotency.Result, now time.Time) {
	if left := r.ExpiresAt.Sub(now).Truncate(time.Second); s.Cache != nil && left >= kvstore.MinTTLSeconds*time.Second {
		s.Cache.WriteResult(ctx, key, r, left)
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

// Complete stores the result in the table, then in the cache. Only the table
// write decides success: a result missing from the cache is read from the
// table and cached by the next lookup.
func (s Store) Complete(ctx context.Context, key string, c idempotency.Claim, r idempotency.Result) error {
	if err := s.Table.Complete(ctx, key, c, r, r.ExpiresAt); err != nil {
		return err
	}
	s.cache(ctx, key, r, s.Now())
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
