package idempotency

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Defaults of an Engine whose fields are zero.
const (
	DefaultLease     = 30 * time.Second
	DefaultRetention = 24 * time.Hour
)

// Engine runs functions at most once per (scope, operation, key) while their
// records live, over one Store. Its zero fields take the defaults; it is safe
// for concurrent use.
type Engine struct {
	// Store keeps the records.
	Store Store
	// Lease is how long a claim keeps other calls of its key out; after it a
	// call may take the key over (the function is presumed to have failed).
	Lease time.Duration
	// Retention is how long a final response is kept and replayed.
	Retention time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewClaimID returns an id unique to one claim; nil means a random UUID.
	NewClaimID func() string
	// Cache, when not nil, answers replays from memory (ResultCache).
	Cache *ResultCache
}

// Func is the work done at most once. A nil error makes its response final:
// stored, and replayed to every later call of the key. A non-nil error makes
// the outcome retryable: nothing is stored, the claim is released, and the
// next call of the key runs the function again. The response is returned to
// this caller either way.
type Func func(ctx context.Context) (Response, error)

// Kind is what Do did with a call.
type Kind int

// The kinds of Outcome.
const (
	// Executed: the function ran. Outcome.Final says whether its response was
	// final; Outcome.Err holds its error when it was not, or why a final
	// response could not be stored.
	Executed Kind = iota + 1
	// Replayed: a final response was stored for this key and fingerprint.
	Replayed
	// InFlight: another call holds the key until Outcome.LeaseUntil.
	InFlight
	// KeyReused: the key holds a call with another fingerprint.
	KeyReused
	// StorageFailed: the records could not be read or the claim written
	// (Outcome.Err says why; errors.Is(Outcome.Err, ErrCorruptRecord) for a
	// record that cannot be decoded). The function did not run.
	StorageFailed
)

var kindNames = map[Kind]string{Executed: "executed", Replayed: "replayed", InFlight: "in flight",
	KeyReused: "key reused", StorageFailed: "storage failed"}

// String returns the kind's name.
func (k Kind) String() string { return kindNames[k] }

// Outcome is what Do did with a call, and the response to answer it with.
type Outcome struct {
	Kind Kind
	// Response is the function's (Executed) or the stored one (Replayed).
	Response Response
	// Final reports, when Executed, whether the response was final.
	Final bool
	// LeaseUntil is when the claim holding the key ends (InFlight).
	LeaseUntil time.Time
	// Err is the function's error (Executed, not final), the store's error
	// when a final response could not be stored (Executed), or why the
	// records failed (StorageFailed).
	Err error
}

// RetryAfter is the whole number of seconds, at least 1, until the lease of
// an InFlight outcome ends at now.
func (o Outcome) RetryAfter(now time.Time) int {
	return max(1, CeilSeconds(o.LeaseUntil.Sub(now)))
}

// Do runs fn for call unless the call's key has a record, and returns what
// happened:
//
//  1. A stored result is replayed when its fingerprint is the call's, and
//     refuses the call (KeyReused) when it is not.
//  2. A live claim refuses a call with another fingerprint (KeyReused: a
//     reused key outranks a busy one) and makes one with the same fingerprint
//     wait (InFlight).
//  3. Otherwise the call claims the key, and runs fn only if the store
//     confirms that the claim is its own: never without a durable claim. A
//     final response is stored; a retryable one releases the claim. A panic
//     of fn goes on to the caller and leaves the claim to its lease.
func (e *Engine) Do(ctx context.Context, call Call, fn Func) Outcome {
	key := call.RecordKey()

	// 1-2. A stored result or a live claim decides the answer.
	if out, settled := e.answerFromRecords(ctx, key, call.Fingerprint); settled {
		return out
	}

	// 3. Nothing stored, or a claim whose lease has ended: claim the key.
	now := e.now()
	claim := Claim{Fingerprint: call.Fingerprint, ID: e.newClaimID(), ClaimedAt: now, LeaseUntil: now.Add(e.lease())}
	won, holder, err := e.Store.Claim(ctx, key, claim)
	if err != nil {
		// A claim that could not be confirmed is left to its lease.
		return Outcome{Kind: StorageFailed, Err: err}
	}
	if !won {
		// Another call claimed the key after we looked: answer as that
		// call's retry would be answered, from its claim when the store
		// showed it, else from a second look.
		var out Outcome
		settled := false
		if holder != nil {
			out, settled = e.answerFromClaim(*holder, call.Fingerprint)
		} else {
			out, settled = e.answerFromRecords(ctx, key, call.Fingerprint)
		}
		if !settled { // and that claim has already ended again
			out = Outcome{Kind: InFlight, LeaseUntil: e.now().Add(time.Second)}
		}
		return out
	}

	resp, fnErr := fn(ctx)
	if fnErr != nil {
		// Retryable: free the key so that a retry runs fn again. A claim
		// that cannot be deleted (or is no longer ours) ends with its lease.
		if err := e.Store.Release(ctx, key, claim); err != nil {
			fnErr = errors.Join(fnErr, fmt.Errorf("releasing the claim: %w", err))
		}
		return Outcome{Kind: Executed, Response: resp, Err: fnErr}
	}
	// Final: the caller gets the response even if it cannot be stored; the
	// claim then keeps retries out until its lease ends.
	completed := e.now()
	result := Result{Fingerprint: call.Fingerprint, Status: resp.Status, Header: resp.Header,
		Body: string(resp.Body), CompletedAt: completed, ExpiresAt: completed.Add(e.retention())}
	out := Outcome{Kind: Executed, Response: resp, Final: true}
	if err := e.Store.Complete(ctx, key, claim, result); err != nil {
		out.Err = fmt.Errorf("storing the result: %w", err)
	} else {
		e.Cache.put(key, &result)
	}
	return out
}

// answerFromRecords answers from what is stored under key, or from the
// cache of results; settled is false when the key is free to claim.
func (e *Engine) answerFromRecords(ctx context.Context, key, fingerprint string) (Outcome, bool) {
	var claim *Claim
	var err error
	result := e.Cache.get(key, e.now())
	if result == nil {
		result, claim, err = e.Store.Lookup(ctx, key)
		if result != nil {
			e.Cache.put(key, result)
		}
	}
	switch {
	case err != nil:
		return Outcome{Kind: StorageFailed, Err: err}, true
	case result != nil && result.Fingerprint != fingerprint:
		return Outcome{Kind: KeyReused}, true
	case result != nil:
		return Outcome{Kind: Replayed, Response: result.Response()}, true
	case claim != nil:
		return e.answerFromClaim(*claim, fingerprint)
	default:
		return Outcome{}, false
	}
}

// answerFromClaim answers while claim holds the key; settled is false when
// its lease has ended.
func (e *Engine) answerFromClaim(claim Claim, fingerprint string) (Outcome, bool) {
	switch {
	case !e.now().Before(claim.LeaseUntil):
		return Outcome{}, false
	case claim.Fingerprint != fingerprint:
		return Outcome{Kind: KeyReused}, true
	default:
		return Outcome{Kind: InFlight, LeaseUntil: claim.LeaseUntil}, true
	}
}

func (e *Engine) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

func (e *Engine) lease() time.Duration {
	if e.Lease <= 0 {
		return DefaultLease
	}
	return e.Lease
}

func (e *Engine) retention() time.Duration {
	if e.Retention <= 0 {
		return DefaultRetention
	}
	return e.Retention
}

func (e *Engine) newClaimID() string {
	if e.NewClaimID == nil {
		return uuid.NewString()
	}
	return e.NewClaimID()
}

// CeilSeconds is d in whole seconds, rounded up: the unit of Retry-After,
// of a KV expiration and of a queue message's delay.
func CeilSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}
