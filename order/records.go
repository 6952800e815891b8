package order

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/orderintake/edge/kvstore"
)

// Claim is the pending record: a request holds the key while it places the
// order, until LeaseUntil. ID is unique to the request that wrote it, so a
// request can tell its own claim from an identical one written by a retry.
// A claim stored before claim ids existed has none; it still holds its key.
type Claim struct {
	Fingerprint string    `json:"fingerprint"`
	ID          string    `json:"claimId,omitempty"`
	ClaimedAt   time.Time `json:"claimedAt"`
	LeaseUntil  time.Time `json:"leaseUntil"`
}

// Result is the completed record: what the first request answered.
type Result struct {
	Fingerprint string    `json:"fingerprint"`
	Status      int       `json:"status"`
	Body        string    `json:"body"` // byte for byte what the client got
	CompletedAt time.Time `json:"completedAt"`
}

// ErrCorruptRecord marks a stored record that cannot be decoded.
var ErrCorruptRecord = errors.New("corrupt record")

// Records is where the idempotency state lives; the state machine in
// intake.go speaks only to this. KVRecords is the default; strict.Records
// keeps the same state in D1 with an atomic claim.
type Records interface {
	// Lookup returns the result stored under key or, when there is none, the
	// claim; both are nil for a fresh key. A record that cannot be decoded
	// yields an error wrapping ErrCorruptRecord.
	Lookup(ctx context.Context, key string) (*Result, *Claim, error)
	// Claim stores c under key unless a live claim or a result holds it, and
	// reports whether c now holds the key. When it does not, holder is the
	// claim that does if the store saw it (KV reads it back), else nil.
	Claim(ctx context.Context, key string, c Claim) (won bool, holder *Claim, err error)
	// Complete replaces the claim c under key with r, kept for retention.
	Complete(ctx context.Context, key string, c Claim, r Result, retention time.Duration) error
	// Release removes the claim c under key, and no other request's claim.
	Release(ctx context.Context, key string, c Claim) error
}

// KVRecords keeps records in Workers KV under two keys per idempotency key,
// "pending:" and "result:", because KV allows one write per second per key
// and a claim is followed by its result within milliseconds.
type KVRecords struct {
	Store kvstore.Store
}

const (
	pendingPrefix = "pending:"
	resultPrefix  = "result:"
)

// Lookup reads the result first and the claim only when there is no result,
// so a replay, the common retry, costs one KV read.
func (r KVRecords) Lookup(ctx context.Context, key string) (*Result, *Claim, error) {
	result, err := r.ReadResult(ctx, key)
	if err != nil || result != nil {
		return result, nil, err
	}
	claim, err := r.readClaim(ctx, key)
	return nil, claim, err
}

// Claim writes the pending record and reads it back. KV has no put-if-absent
// and is last-write-wins, so of concurrent claims at one location the one
// read back is the one that stays: only its writer goes on. This narrows the
// race to a claim written after another request's read-back; it cannot close
// it, and across locations (where a write takes up to 60 s to arrive) each
// request reads back its own claim. The claim read back answers a loser
// directly, without a second lookup. The KV expiry is the lease rounded up to
// KV's 60-second floor; the lease itself is enforced from LeaseUntil.
func (r KVRecords) Claim(ctx context.Context, key string, c Claim) (bool, *Claim, error) {
	ttl := max(kvstore.MinTTLSeconds, ceilSeconds(c.LeaseUntil.Sub(c.ClaimedAt)))
	if err := r.write(ctx, pendingPrefix+key, c, ttl); err != nil {
		return false, nil, err
	}
	holder, err := r.readClaim(ctx, key)
	if err != nil || holder == nil {
		return false, nil, err // gone already: its holder released it
	}
	return holder.ID == c.ID, holder, nil
}

// Complete writes the result. The claim is left to expire: the result is
// always read first, and a delete would be a third billed write.
func (r KVRecords) Complete(ctx context.Context, key string, _ Claim, res Result, retention time.Duration) error {
	return r.WriteResult(ctx, key, res, retention)
}

// Release deletes the claim only if it is still c: a request that claimed
// the key after our read-back (the race KV cannot close) may be placing the
// order now, and deleting its claim would let further retries place it again.
// The check costs one read on the failure path only; a claim that cannot be
// read is left to its lease.
func (r KVRecords) Release(ctx context.Context, key string, c Claim) error {
	holder, err := r.readClaim(ctx, key)
	if err != nil || holder == nil || holder.ID != c.ID {
		return err
	}
	return r.Store.Delete(ctx, pendingPrefix+key)
}

// ReadResult returns the result stored under key, or nil.
func (r KVRecords) ReadResult(ctx context.Context, key string) (*Result, error) {
	return read[Result](ctx, r.Store, resultPrefix+key)
}

// readClaim returns the claim stored under key, or nil.
func (r KVRecords) readClaim(ctx context.Context, key string) (*Claim, error) {
	return read[Claim](ctx, r.Store, pendingPrefix+key)
}

// WriteResult stores res under key for retention (at least KV's 60 s floor).
func (r KVRecords) WriteResult(ctx context.Context, key string, res Result, retention time.Duration) error {
	return r.write(ctx, resultPrefix+key, res, ceilSeconds(retention))
}

// read returns the record stored under key, or nil when there is none.
func read[T any, P interface {
	*T
	valid() bool
}](ctx context.Context, store kvstore.Store, key string) (*T, error) {
	raw, found, err := store.Get(ctx, key)
	if err != nil || !found {
		return nil, err
	}
	var record T
	if err := json.Unmarshal([]byte(raw), &record); err != nil || !P(&record).valid() {
		return nil, fmt.Errorf("%w under %q", ErrCorruptRecord, key)
	}
	return &record, nil
}

func (r KVRecords) write(ctx context.Context, key string, record any, ttlSeconds int) error {
	raw, err := json.Marshal(record)
	if err != nil {
		return err
	}
	return r.Store.Put(ctx, key, string(raw), ttlSeconds)
}

func (c *Claim) valid() bool  { return c.Fingerprint != "" && !c.LeaseUntil.IsZero() }
func (r *Result) valid() bool { return r.Fingerprint != "" && r.Status != 0 && r.Body != "" }

func ceilSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}
