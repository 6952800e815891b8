package strict

import (
	"context"
	"time"

	"github.com/orderintake/edge/kvstore"
	"github.com/orderintake/edge/order"
)

// Records are the idempotency records of strict mode: authoritative in the
// D1 table, with completed results also written to KV, which every lookup
// reads first, so a replay at the edge costs one KV read, as in KV mode.
type Records struct {
	Table Table
	Cache order.KVRecords
	Now   func() time.Time
}

// Lookup tries the KV cache, then the table. The cache can only lag, never
// lie: a result, once stored, does not change until it expires. So a cache
// that cannot be read is passed over, and the table decides.
func (r Records) Lookup(ctx context.Context, key string) (*order.Result, *order.Claim, error) {
	if cached, err := r.Cache.ReadResult(ctx, key); err == nil && cached != nil {
		return cached, nil, nil
	}
	now := r.Now()
	row, err := r.Table.Get(ctx, key, now)
	if err != nil || row == nil {
		return nil, nil, err
	}
	if !row.Completed {
		return nil, &order.Claim{Fingerprint: row.Fingerprint, ClaimedAt: row.ClaimedAt, LeaseUntil: row.LeaseUntil}, nil
	}
	result := &order.Result{Fingerprint: row.Fingerprint, Status: row.ResponseStatus, Body: row.ResponseBody, CompletedAt: row.CompletedAt}
	// Fill the cache for the next retry at this edge, unless KV's 60 s floor
	// would keep it beyond the row.
	if left := row.ExpiresAt.Sub(now); left >= kvstore.MinTTLSeconds*time.Second {
		r.Cache.WriteResult(ctx, key, *result, left) // best effort: the table stays authoritative
	}
	return result, nil, nil
}

// Claim runs the table's atomic claim. An unfinished claim's row dies with
// its lease: from then on it is only a takeover waiting to happen. The
// statement does not say who holds a key it refused, so the state machine
// looks again. The claim id is not stored: the atomic claim already makes
// (claimed_at, fingerprint) name one claim, since a takeover's claimed_at is
// at or after the lease end of the claim it replaces.
func (r Records) Claim(ctx context.Context, key string, c order.Claim) (bool, *order.Claim, error) {
	won, err := r.Table.Claim(ctx, key, c, c.LeaseUntil)
	return won, nil, err
}

// Complete stores the result in the table, then in the cache. Only the table
// write decides success: a result missing from the cache is read from the
// table and cached by the next lookup.
func (r Records) Complete(ctx context.Context, key string, c order.Claim, res order.Result, retention time.Duration) error {
	if err := r.Table.Complete(ctx, key, c, res, res.CompletedAt.Add(retention)); err != nil {
		return err
	}
	r.Cache.WriteResult(ctx, key, res, retention)
	return nil
}

func (r Records) Release(ctx context.Context, key string, c order.Claim) error {
	return r.Table.Release(ctx, key, c)
}
