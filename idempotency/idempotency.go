// Package idempotency runs a function, or serves an HTTP request, at most once
// per (scope, operation, key), and answers every retry with the first outcome.
//
// It is the guarantee of the order-intake worker (docs/contract.md) without
// the orders: Engine.Do wraps any function, Middleware wraps any
// http.Handler, and a Store keeps the records. Its refusals are RFC 9457
// problem details in generic words, or in an application's (Problems). The stores live in packages of
// their own, one per dependency: kv (Workers KV: a claim id read back),
// d1 (D1 or any SQLite: an atomic claim) and memory (tests, native servers).
// storetest checks that a Store keeps the contract.
//
// Package idempotency is pure Go: it builds and is tested natively, and runs
// inside a Workers isolate under the rule for the request path
// (docs/runtime.md): it never waits on a Go timer.
package idempotency

import (
	"context"
	"errors"
	"maps"
	"time"
)

// Call is one idempotent call: what it does, for whom, under which key, and
// what it was asked to do.
type Call struct {
	// Scope is who is calling (a client id, a tenant); "" for everyone. One
	// scope's keys never replay or block another scope's calls. It must not
	// contain ':' or a space.
	Scope string
	// Operation names what is being done ("POST /webhooks", "charge"), so that
	// two operations sharing a store never collide; "" is the operation of the
	// order intake, whose records predate operations (RecordKey).
	Operation string
	// Key is the caller's idempotency key.
	Key string
	// Fingerprint identifies what the call was asked to do: the same key with
	// another fingerprint is a key reused for something else.
	Fingerprint string
}

// RecordKey is where a call's records live in a store: "<scope>:<key>" (or
// "<key>" without a scope) for the empty operation, the keys the order intake
// wrote before operations existed, and "<operation> <scope> <key>" for any
// other. Keys and scopes hold no space, so the two forms cannot collide.
func (c Call) RecordKey() string {
	switch {
	case c.Operation != "":
		return c.Operation + " " + c.Scope + " " + c.Key
	case c.Scope != "":
		return c.Scope + ":" + c.Key
	default:
		return c.Key
	}
}

// Response is an outcome as it is stored and replayed: a status, the headers
// worth replaying and the body, byte for byte.
type Response struct {
	Status int
	// Header holds one value per name, such as Content-Type and Location.
	Header map[string]string
	Body   []byte
}

// Claim is the record that holds a key while its call runs, until LeaseUntil.
// ID is unique to the call that wrote it, so a call can tell its own claim
// from an identical one written by a concurrent retry; claims written before
// claim ids existed have none.
type Claim struct {
	Fingerprint string    `json:"fingerprint"`
	ID          string    `json:"claimId,omitempty"`
	ClaimedAt   time.Time `json:"claimedAt"`
	LeaseUntil  time.Time `json:"leaseUntil"`
}

// Result is the record of a completed call: its final response, kept until
// ExpiresAt. Its JSON form is the one the order intake has always stored, so
// results written before Header and ExpiresAt existed still decode: their
// Content-Type was application/json, and their expiry is unknown.
type Result struct {
	Fingerprint string            `json:"fingerprint"`
	Status      int               `json:"status"`
	Header      map[string]string `json:"header,omitempty"`
	Body        string            `json:"body"`
	CompletedAt time.Time         `json:"completedAt"`
	ExpiresAt   time.Time         `json:"expiresAt,omitzero"`
}

// Response returns the stored response as it is replayed, the caller's to
// change: its header map and body are copies. A body stored without a
// Content-Type was the order intake's JSON; an empty body has none.
func (r *Result) Response() Response {
	header := make(map[string]string, len(r.Header)+1)
	maps.Copy(header, r.Header)
	if header["Content-Type"] == "" && r.Body != "" {
		header["Content-Type"] = "application/json"
	}
	return Response{Status: r.Status, Header: header, Body: []byte(r.Body)}
}

// Store keeps the records of calls under their record keys. Of two calls that
// claim one key, at most one may be told it won while the other's claim lives;
// a store that cannot promise this (Workers KV, whose claim is a blind write
// read back) says so in its documentation. storetest.Run checks the contract,
// and its Options name each way a store departs from it.
type Store interface {
	// Lookup returns the result stored under key or, when there is none, the
	// claim (live or not); both are nil for a fresh key. A record that cannot
	// be decoded yields an error wrapping ErrCorruptRecord.
	Lookup(ctx context.Context, key string) (*Result, *Claim, error)
	// Claim stores c under key unless a result or a live claim holds it, and
	// reports whether c now holds the key. When it does not, holder is the
	// claim that does, if the store saw it, else nil.
	Claim(ctx context.Context, key string, c Claim) (won bool, holder *Claim, err error)
	// Complete replaces claim c under key with r, kept until r.ExpiresAt;
	// when c no longer holds the key it may return ErrClaimLost.
	Complete(ctx context.Context, key string, c Claim, r Result) error
	// Release removes claim c under key, and no other call's claim.
	Release(ctx context.Context, key string, c Claim) error
}

// Errors a Store returns, wrapped or not.
var (
	// ErrCorruptRecord marks a stored record that cannot be decoded.
	ErrCorruptRecord = errors.New("corrupt record")
	// ErrClaimLost is Complete's error when the claim no longer holds the
	// key: its lease ended and another call took the key over.
	ErrClaimLost = errors.New("the claim no longer holds the key: its lease ended and another call took it over")
)
