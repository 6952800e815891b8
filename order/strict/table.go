// Package strict is strict mode: the idempotency records in D1, where
// claiming a key is one atomic statement, so concurrent retries of one key
// place the order exactly once, across every Cloudflare location. KV stays in
// front as the edge cache of completed results. It is another implementation
// of order.Records; the state machine is the same.
package strict

import (
	"context"
	"errors"
	"time"

	"github.com/orderintake/edge/order"
)

// Row is one record of the idempotency_records table.
type Row struct {
	Fingerprint    string
	Completed      bool
	ResponseStatus int
	ResponseBody   string
	ClaimedAt      time.Time
	LeaseUntil     time.Time
	CompletedAt    time.Time
	ExpiresAt      time.Time
}

// errClaimLost means the claim a request held is no longer in the table: its
// lease ended and another request took the key over.
var errClaimLost = errors.New("the claim was taken over after its lease ended")

// Table is the D1 table of strict mode (migrations/0001_idempotency_records.sql, beside this file).
type Table interface {
	// Get returns the row under key, or nil when there is none or it has
	// expired at now.
	Get(ctx context.Context, key string, now time.Time) (*Row, error)
	// Claim inserts a processing row for c, or takes over a row that has
	// expired or whose lease has ended, as one atomic statement; it reports
	// whether it did. expiresAt is when the row dies if never completed.
	Claim(ctx context.Context, key string, c order.Claim, expiresAt time.Time) (bool, error)
	// Complete turns the processing row of claim c into the completed result
	// r, alive until expiresAt; errClaimLost when that claim is gone.
	Complete(ctx context.Context, key string, c order.Claim, r order.Result, expiresAt time.Time) error
	// Release deletes the processing row of claim c, if it is still there.
	Release(ctx context.Context, key string, c order.Claim) error
	// DeleteExpired deletes at most limit rows that expired at now and says
	// how many it deleted.
	DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error)
}
