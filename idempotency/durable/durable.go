// Package durable keeps strict mode's idempotency records in Durable
// Objects of the IdempotencyRecords class (isolate/records.mjs), with SQLite
// storage: the record keys are spread by hash over Shards objects. Each
// object runs one call at a time, so its claim is atomic as D1's statement
// is, everywhere, and there is no single primary
// (docs/adr/0010-records-hashed-over-durable-objects.md).
//
// The objects hold the records and nothing else; the state machine is the
// engine's, and the store is d1.Store over Records, with Workers KV in front
// as the cache of completed results, as in strict mode on D1. A result
// answered under strict mode on D1 is therefore still replayed from that
// cache after a worker switches to Durable Objects.
package durable

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/d1"
	"github.com/orderintake/edge/idempotency/kv"
)

// Objects calls the records objects: method of the object named name, with
// arg and its reply as JSON. isolate.DurableObjects calls them on workerd;
// Fake is one for native tests.
type Objects interface {
	Call(ctx context.Context, name, method string, arg []byte) ([]byte, error)
}

// New returns the store: the records in objects, a copy of the completed
// results in results (nil for none), expiry on now.
func New(objects Objects, results *kv.Store, now func() time.Time) d1.Store {
	return d1.Store{Table: Records{Objects: objects}, Results: results, Now: now}
}

// Records are d1.Records in objects, each record key in the object
// ObjectName names.
type Records struct {
	Objects Objects
}

// args are what every method of the class takes, as JSON; times are Unix
// milliseconds.
type args struct {
	Key         string `json:"key"`
	Now         int64  `json:"now"`
	Fingerprint string `json:"fingerprint"`
	ClaimedAt   int64  `json:"claimedAt"`
	LeaseUntil  int64  `json:"leaseUntil"`
	ExpiresAt   int64  `json:"expiresAt"`
	Result      string `json:"result"` // kv.EncodeResult's text
}

// record is a record as get returns it: Result is nil while its call runs.
type record struct {
	Fingerprint string  `json:"fingerprint"`
	ClaimedAt   int64   `json:"claimedAt"`
	LeaseUntil  int64   `json:"leaseUntil"`
	ExpiresAt   int64   `json:"expiresAt"`
	Result      *string `json:"result"`
}

// Get returns the record under key unless it has expired at now.
func (t Records) Get(ctx context.Context, key string, now time.Time) (*d1.Row, error) {
	var rec *record
	if err := t.call(ctx, "get", args{Key: key, Now: now.UnixMilli()}, &rec); err != nil || rec == nil {
		return nil, err
	}
	row := &d1.Row{Fingerprint: rec.Fingerprint, ClaimedAt: time.UnixMilli(rec.ClaimedAt),
		LeaseUntil: time.UnixMilli(rec.LeaseUntil), ExpiresAt: time.UnixMilli(rec.ExpiresAt)}
	if rec.Result != nil {
		r, err := kv.DecodeResult(*rec.Result, "the Durable Object of "+key)
		if err != nil {
			return nil, err
		}
		row.Completed, row.ResponseStatus, row.ResponseHeader, row.ResponseBody, row.CompletedAt =
			true, r.Status, r.Header, r.Body, r.CompletedAt
	}
	return row, nil
}

// Claim writes claim c under key unless a result or a live claim holds it,
// in one call of the key's object.
func (t Records) Claim(ctx context.Context, key string, c idempotency.Claim, expiresAt time.Time) (bool, error) {
	var won bool
	err := t.call(ctx, "claim", args{Key: key, Fingerprint: c.Fingerprint, ClaimedAt: c.ClaimedAt.UnixMilli(),
		LeaseUntil: c.LeaseUntil.UnixMilli(), ExpiresAt: expiresAt.UnixMilli()}, &won)
	return won, err
}

// Complete replaces claim c with the result r, alive until expiresAt;
// idempotency.ErrClaimLost when c no longer holds the key.
func (t Records) Complete(ctx context.Context, key string, c idempotency.Claim, r idempotency.Result, expiresAt time.Time) error {
	encoded, err := kv.EncodeResult(r)
	if err != nil {
		return err
	}
	var done bool
	err = t.call(ctx, "complete", args{Key: key, Fingerprint: c.Fingerprint, ClaimedAt: c.ClaimedAt.UnixMilli(),
		Result: string(encoded), ExpiresAt: expiresAt.UnixMilli()}, &done)
	if err == nil && !done {
		err = idempotency.ErrClaimLost
	}
	return err
}

// Release deletes claim c under key, if it is still there.
func (t Records) Release(ctx context.Context, key string, c idempotency.Claim) error {
	return t.call(ctx, "release", args{Key: key, Fingerprint: c.Fingerprint, ClaimedAt: c.ClaimedAt.UnixMilli()}, nil)
}

// call calls method of key's object and decodes its reply into reply
// (unless nil).
func (t Records) call(ctx context.Context, method string, a args, reply any) error {
	arg, err := json.Marshal(a)
	if err != nil {
		return err
	}
	raw, err := t.Objects.Call(ctx, ObjectName(a.Key), method, arg)
	if err != nil {
		return fmt.Errorf("the Durable Object of %q: %s: %w", a.Key, method, err)
	}
	if reply != nil && json.Unmarshal(raw, reply) != nil {
		return fmt.Errorf("the Durable Object of %q: %s replied %.100q", a.Key, method, raw)
	}
	return nil
}

// Shards is how many objects hold the records. Changing it moves record
// keys to other objects, where their live claims are not seen: a retry of a
// call in flight at that moment may run it again (completed results stay
// replayed from the KV cache).
const Shards = 64

// ObjectName is the name of the object that holds a record key's records:
// "records-<n>", n the key's FNV-1a hash modulo Shards.
func ObjectName(key string) string {
	h := fnv.New32a()
	h.Write([]byte(key))
	return "records-" + strconv.Itoa(int(h.Sum32()%Shards))
}
