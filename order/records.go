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
// order, until LeaseUntil.
type Claim struct {
	Fingerprint string    `json:"fingerprint"`
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
	// reports whether it did. Only a store with an atomic claim can refuse;
	// KV cannot, and always reports true.
	Claim(ctx context.Context, key string, c Claim) (won bool, err error)
	// Complete replaces the claim c under key with r, kept for retention.
	Complete(ctx context.Context, key string, c Claim, r Result, retention time.Duration) error
	// Release removes the claim c under key.
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
	var claim Claim
	found, err := r.read(ctx, pendingPrefix+key, &claim)
	if err != nil || !found {
		return nil, nil, err
	}
	return nil, &claim, nil
}

// Claim writes the pending record, blindly: KV has no put-if-absent. Its KV
// expiry is the lease rounded up to KV's 60-second floor; the lease itself is
// enforced from LeaseUntil.
func (r KVRecords) Claim(ctx context.Context, key string, c Claim) (bool, error) {
	ttl := max(kvstore.MinTTLSeconds, ceilSeconds(c.LeaseUntil.Sub(c.ClaimedAt)))
	return true, r.write(ctx, pendingPrefix+key, c, ttl)
}

// Complete writes the result. The claim is left to expire: the result is
// always read first, and a delete would be a third billed write.
func (r KVRecords) Complete(ctx context.Context, key string, _ Claim, res Result, retention time.Duration) error {
	return r.WriteResult(ctx, key, res, retention)
}

func (r KVRecords) Release(ctx context.Context, key string, _ Claim) error {
	return r.Store.Delete(ctx, pendingPrefix+key)
}

// ReadResult returns the result stored under key, or nil.
func (r KVRecords) ReadResult(ctx context.Context, key string) (*Result, error) {
	var result Result
	found, err := r.read(ctx, resultPrefix+key, &result)
	if err != nil || !found {
		return nil, err
	}
	return &result, nil
}

// WriteResult stores res under key for retention (at least KV's 60 s floor).
func (r KVRecords) WriteResult(ctx context.Context, key string, res Result, retention time.Duration) error {
	return r.write(ctx, resultPrefix+key, res, ceilSeconds(retention))
}

func (r KVRecords) read(ctx context.Context, key string, into interface{ valid() bool }) (bool, error) {
	raw, found, err := r.Store.Get(ctx, key)
	if err != nil || !found {
		return false, err
	}
	if err := json.Unmarshal([]byte(raw), into); err != nil || !into.valid() {
		return true, fmt.Errorf("%w under %q", ErrCorruptRecord, key)
	}
	return true, nil
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
