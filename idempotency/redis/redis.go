// Package redis is an idempotency.Store in Redis or Valkey (through
// go-redis), for native servers at the origin that already run one.
//
// Each record key is one Redis key, Prefix + the record key, whose value is
// the record as package kv stores it (the JSON of idempotency.Claim or
// idempotency.Result) after one byte saying which: 'c' for a claim, 'r' for
// a result. A claim is SET NX PX: of concurrent claims exactly one creates
// the key. Completion and release are compare-and-set on the claim id, one
// Lua script each, so a call whose lease ended and whose key was taken over
// can neither store its result over the new claim nor delete it. Only
// commands that Redis and Valkey both have are used (GET, SET, EVALSHA,
// EVAL, DEL).
//
// Every decision about time is taken on the Store's clock, Now: a result
// is live until its ExpiresAt, a claim until its LeaseUntil. The server's
// TTLs (PX, set from the same durations) are the backstop that frees the
// memory. A claim found dead on the Store's clock while its key still
// lives (clocks a little apart) is taken over by a compare-and-set on the
// value read.
//
// Durability is the server's: run it with the append-only file and
// appendfsync always where a restart must not forget a claim or a result.
// A server restarted without persistence forgets every record, and retries
// then run their calls again.
package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/kv"
)

// DefaultPrefix is the prefix of the Redis keys of a Store whose Prefix is "".
const DefaultPrefix = "idempotency:"

// The first byte of a value: which record follows.
const (
	claimTag  = 'c'
	resultTag = 'r'
)

// Store keeps the records in Redis. It is safe for concurrent use.
type Store struct {
	Client redis.UniversalClient
	// Prefix is put before every record key; "" means DefaultPrefix.
	Prefix string
	// Now is the clock of every expiry decision; nil means time.Now.
	Now func() time.Time
}

// New returns a store over client on the clock now (nil: time.Now).
func New(client redis.UniversalClient, now func() time.Time) *Store {
	return &Store{Client: client, Now: now}
}

// holdsClaim is the Lua condition of both scripts: the key holds the claim
// whose id is ARGV[1].
const holdsClaim = `
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 1, 1) ~= 'c' then return 0 end
local ok, claim = pcall(cjson.decode, string.sub(v, 2))
if not ok or claim.claimId ~= ARGV[1] then return 0 end
`

var (
	// completeScript replaces the claim ARGV[1] with the result ARGV[2],
	// kept ARGV[3] milliseconds; it is done already when the key holds that
	// very result (the script ran, and its answer was lost with the
	// connection, and go-redis sent it again).
	completeScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[2] then return 1 end` + holdsClaim + `
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`)

	// releaseScript deletes the claim ARGV[1].
	releaseScript = redis.NewScript(holdsClaim + `
redis.call('DEL', KEYS[1])
return 1`)

	// takeoverScript replaces the value ARGV[1], a dead record, with the
	// claim ARGV[2], kept ARGV[3] milliseconds.
	takeoverScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`)
)

// Lookup returns the live result under key or, when there is none, the
// live claim.
func (s *Store) Lookup(ctx context.Context, key string) (*idempotency.Result, *idempotency.Claim, error) {
	raw, err := s.Client.Get(ctx, s.redisKey(key)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return s.decode(key, raw, s.now())
}

// decode returns the record in raw, the value under key, when it lives at now.
func (s *Store) decode(key, raw string, now time.Time) (*idempotency.Result, *idempotency.Claim, error) {
	where := s.redisKey(key)
	switch {
	case raw != "" && raw[0] == resultTag:
		r, err := kv.DecodeResult(raw[1:], where)
		if err != nil || !now.Before(r.ExpiresAt) {
			return nil, nil, err
		}
		return r, nil, nil
	case raw != "" && raw[0] == claimTag:
		c, err := kv.DecodeClaim(raw[1:], where)
		if err != nil || !now.Before(c.LeaseUntil) {
			return nil, nil, err
		}
		return nil, c, nil
	default:
		return nil, nil, fmt.Errorf("%w under %q: neither a claim nor a result", idempotency.ErrCorruptRecord, where)
	}
}

// takeovers bounds Claim's rounds against a key that keeps changing.
const takeovers = 3

// Claim creates the key with SET NX PX. When the key exists, the record in
// it decides: a live result or claim keeps it (the claim is reported as the
// holder), a dead one (on the Store's clock) is taken over.
func (s *Store) Claim(ctx context.Context, key string, c idempotency.Claim) (bool, *idempotency.Claim, error) {
	record, err := kv.EncodeClaim(c)
	if err != nil {
		return false, nil, err
	}
	value := string(claimTag) + string(record)
	rkey := s.redisKey(key)
	for range takeovers {
		now := s.now()
		ttl := ttlMillis(c.LeaseUntil, now)
		err := s.Client.Do(ctx, "SET", rkey, value, "PX", ttl, "NX").Err()
		if err == nil {
			return true, &c, nil
		}
		if !errors.Is(err, redis.Nil) {
			return false, nil, err
		}
		raw, err := s.Client.Get(ctx, rkey).Result()
		if errors.Is(err, redis.Nil) {
			continue // released or expired since: claim again
		}
		if err != nil {
			return false, nil, err
		}
		result, holder, err := s.decode(key, raw, now)
		switch {
		case err != nil:
			return false, nil, err
		case result != nil:
			return false, nil, nil
		case holder != nil && holder.ID == c.ID:
			return true, &c, nil // this SET, sent again after its answer was lost
		case holder != nil:
			return false, holder, nil
		}
		swapped, err := takeoverScript.Run(ctx, s.Client, []string{rkey}, raw, value, ttl).Int()
		if err != nil {
			return false, nil, err
		}
		if swapped == 1 {
			return true, &c, nil
		}
	}
	return false, nil, nil // the engine looks again
}

// Complete replaces claim c with r, kept until r.ExpiresAt;
// idempotency.ErrClaimLost when c no longer holds the key.
func (s *Store) Complete(ctx context.Context, key string, c idempotency.Claim, r idempotency.Result) error {
	record, err := kv.EncodeResult(r)
	if err != nil {
		return err
	}
	done, err := completeScript.Run(ctx, s.Client, []string{s.redisKey(key)},
		c.ID, string(resultTag)+string(record), ttlMillis(r.ExpiresAt, s.now())).Int()
	if err == nil && done != 1 {
		err = idempotency.ErrClaimLost
	}
	return err
}

// Release deletes claim c, if it still holds key.
func (s *Store) Release(ctx context.Context, key string, c idempotency.Claim) error {
	return releaseScript.Run(ctx, s.Client, []string{s.redisKey(key)}, c.ID).Err()
}

func (s *Store) redisKey(key string) string {
	if s.Prefix == "" {
		return DefaultPrefix + key
	}
	return s.Prefix + key
}

func (s *Store) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// ttlMillis is the server's TTL of a record that dies at until: at least a
// millisecond, PX's least.
func ttlMillis(until, now time.Time) int64 {
	return max(1, until.Sub(now).Milliseconds())
}
