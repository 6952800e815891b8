// Package d1 is an idempotency.Store in D1 (or any SQLite), where claiming a
// key is one atomic statement: of concurrent calls of one key exactly one
// runs, across every Cloudflare location, since D1 has one primary. This is
// the order intake's strict mode (docs/strict-mode.md). Workers KV can stay in
// front with a copy of the completed results (Store.Results).
package d1

import (
	"context"
	"time"

	"github.com/orderintake/edge/idempotency"
)

// Row is one record of the idempotency_records table.
type Row struct {
	Fingerprint    string
	Completed      bool
	ResponseStatus int
	ResponseHeader map[string]string
	ResponseBody   string
	ClaimedAt      time.Time
	LeaseUntil     time.Time
	CompletedAt    time.Time
	ExpiresAt      time.Time
}

// Records are the atomic operations Store needs of wherever strict mode's
// records live: a Table, or package durable's Durable Objects.
type Records interface {
	// Get returns the row under key, or nil when there is none or it has
	// expired at now.
	Get(ctx context.Context, key string, now time.Time) (*Row, error)
	// Claim inserts a processing row for c, or takes over a row that has
	// expired or whose lease has ended, as one atomic statement; it reports
	// whether it did. expiresAt is when the row dies if never completed.
	Claim(ctx context.Context, key string, c idempotency.Claim, expiresAt time.Time) (bool, error)
	// Complete turns the processing row of claim c into the completed result
	// r, alive until expiresAt; idempotency.ErrClaimLost when that claim is gone.
	Complete(ctx context.Context, key string, c idempotency.Claim, r idempotency.Result, expiresAt time.Time) error
	// Release deletes the processing row of claim c, if it is still there.
	Release(ctx context.Context, key string, c idempotency.Claim) error
}

// Table is the D1 table of strict mode (the migrations beside this file):
// the Records, and the cron job's cleanup.
type Table interface {
	Records
	// DeleteExpired deletes at most limit rows that expired at now and says
	// how many it deleted.
	DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error)
}
