// Package kv is an idempotency.Store in Workers KV (through kvstore.Namespace),
// under two KV keys per record key, "pending:<record key>" for the claim and
// "result:<record key>" for the result: KV allows one write per second per
// key, and a claim is followed by its result within milliseconds.
//
// KV has no put-if-absent and is last-write-wins, and a write takes up to
// about 60 s to reach other Cloudflare locations. So Claim writes the claim
// and reads it back, and wins only if the claim read back is its own. That
// narrows the race between concurrent calls at one location; it cannot close
// it, and across locations each call reads back its own claim and both win
// (docs/guarantees.md). Use package d1 where that matters.
package kv

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/kvstore"
)

// The prefixes of the two KV keys of a record key.
const (
	PendingPrefix = "pending:"
	ResultPrefix  = "result:"
)

// Store keeps records in one KV namespace.
type Store struct {
	KV kvstore.Namespace
}

// Lookup reads the result first and the claim only when there is no result,
// so a replay, the common retry, costs one KV read.
func (s Store) Lookup(ctx context.Context, key string) (*idempotency.Result, *idempotency.Claim, error) {
	which, raw, err := kvstore.GetFirst(ctx, s.KV, ResultPrefix+key, PendingPrefix+key)
	switch {
	case err != nil || which < 0:
		return nil, nil, err
	case which == 0:
		result, err := DecodeResult(raw, ResultPrefix+key)
		return result, nil, err
	default:
		claim, err := decodeRecord(raw, PendingPrefix+key, validClaim)
		return nil, claim, err
	}
}

// Claim writes the claim and reads it back: a claim overwritten before its
// read-back loses, and the claim read back answers it directly. Claim does
// not look for a result or a live claim first (the engine's Lookup just did,
// and a look would be a fourth read), so a claim written after another's
// read-back overwrites it and wins too: the race KV cannot close. The KV
// expiry is the lease rounded up to KV's 60-second floor; the engine
// enforces the lease itself from LeaseUntil.
func (s Store) Claim(ctx context.Context, key string, c idempotency.Claim) (bool, *idempotency.Claim, error) {
	ttl := max(kvstore.MinTTLSeconds, idempotency.CeilSeconds(c.LeaseUntil.Sub(c.ClaimedAt)))
	raw, err := marshalRecord(&c)
	if err != nil {
		return false, nil, err
	}
	readBack, found, err := kvstore.PutGet(ctx, s.KV, PendingPrefix+key, string(raw), ttl)
	if err != nil || !found {
		return false, nil, err // gone already: its holder released it
	}
	holder, err := decodeRecord(readBack, PendingPrefix+key, validClaim)
	if err != nil {
		return false, nil, err
	}
	return holder.ID == c.ID, holder, nil
}

// Complete writes the result. The claim is left to expire: the result is
// always read first, and a delete would be a third billed write.
func (s Store) Complete(ctx context.Context, key string, _ idempotency.Claim, r idempotency.Result) error {
	return s.WriteResult(ctx, key, r, r.ExpiresAt.Sub(r.CompletedAt))
}

// Release deletes the claim only if it is still c: a call that claimed the
// key after c's read-back (the race KV cannot close) may be running now, and
// deleting its claim would let further retries run again. The check costs
// one read on the failure path only; a claim that cannot be read is left to
// its lease.
func (s Store) Release(ctx context.Context, key string, c idempotency.Claim) error {
	holder, err := s.readClaim(ctx, key)
	if err != nil || holder == nil || holder.ID != c.ID {
		return err
	}
	return s.KV.Delete(ctx, PendingPrefix+key)
}

// ReadResult returns the result stored under key, or nil.
func (s Store) ReadResult(ctx context.Context, key string) (*idempotency.Result, error) {
	raw, found, err := s.KV.Get(ctx, ResultPrefix+key)
	if err != nil || !found {
		return nil, err
	}
	return DecodeResult(raw, ResultPrefix+key)
}

// WriteResult stores r under key for ttl, and at least KV's 60-second floor.
func (s Store) WriteResult(ctx context.Context, key string, r idempotency.Result, ttl time.Duration) error {
	raw, err := EncodeResult(r)
	if err != nil {
		return err
	}
	return s.KV.Put(ctx, ResultPrefix+key, string(raw), max(kvstore.MinTTLSeconds, idempotency.CeilSeconds(ttl)))
}

// resultRecord is a result as KV stores it. A JSON string holds only UTF-8,
// so a body that is not (an image, a gzip stream) is kept in bodyBase64,
// byte for byte, and body is empty; other results are stored as the order
// intake has always stored them.
type resultRecord struct {
	idempotency.Result
	BodyBase64 string `json:"bodyBase64,omitempty"`
}

func (s Store) readClaim(ctx context.Context, key string) (*idempotency.Claim, error) {
	return read[idempotency.Claim](ctx, s.KV, PendingPrefix+key, validClaim)
}

// read returns the record stored under key, or nil when there is none.
// decode checks the record as JSON decoded it, and finishes decoding it.
func read[T any](ctx context.Context, store kvstore.Namespace, key string, decode func(*T) bool) (*T, error) {
	raw, found, err := store.Get(ctx, key)
	if err != nil || !found {
		return nil, err
	}
	return decodeRecord(raw, key, decode)
}

// decodeRecord decodes raw, the record stored under key.
func decodeRecord[T any](raw, key string, decode func(*T) bool) (*T, error) {
	var record T
	if !decodeFast(raw, &record) {
		record = *new(T) // what the fast path may have filled in
		if err := json.Unmarshal([]byte(raw), &record); err != nil {
			return nil, fmt.Errorf("%w under %q", idempotency.ErrCorruptRecord, key)
		}
	}
	if !decode(&record) {
		return nil, fmt.Errorf("%w under %q", idempotency.ErrCorruptRecord, key)
	}
	return &record, nil
}

// validClaim accepts a claim without a fingerprint (a call whose key alone
// says what it does) only when the engine wrote it, with a claimId: the
// order intake's first version always stored a fingerprint.
func validClaim(c *idempotency.Claim) bool {
	return !c.LeaseUntil.IsZero() && (c.Fingerprint != "" || c.ID != "")
}

// decodeResult decodes a body kept in bodyBase64, and checks the result.
func decodeResult(r *resultRecord) bool {
	if r.BodyBase64 != "" {
		body, err := base64.StdEncoding.DecodeString(r.BodyBase64)
		if err != nil || r.Body != "" {
			return false
		}
		r.Body, r.BodyBase64 = string(body), ""
	}
	return validResult(&r.Result)
}

// validResult accepts an empty body (a 202 or 204 without one) or an empty
// fingerprint only in a result the engine wrote, which carries expiresAt:
// the order intake's first version always stored both, so a result of its
// that lacks one is damage.
func validResult(r *idempotency.Result) bool {
	return r.Status != 0 && (!r.ExpiresAt.IsZero() || (r.Fingerprint != "" && r.Body != ""))
}
