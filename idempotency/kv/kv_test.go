package kv_test

import (
	"context"
	"testing"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/kv"
	"github.com/orderintake/edge/idempotency/storetest"
	"github.com/orderintake/edge/kvstore"
)

// The KV store over the fake namespace at one location. What it promises
// differs from the strict contract where KV does (package doc):
//   - Claim writes blind and reads back: the engine's Lookup is the check,
//     and concurrent claims may all win (the read-back narrows the race to
//     claims written between one's write and its read-back);
//   - Complete cannot tell a claim that lost its key;
//   - a result lives at least KV's 60-second TTL floor, in whole seconds.
//
// It does report the holder (the claim read back) and keeps claim ids.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, clock *kvstore.Clock) idempotency.Store {
		return kv.Store{KV: kvstore.NewFake(clock.Now)}
	}, storetest.Options{
		BlindClaim:        true,
		RacingClaims:      true,
		UncheckedComplete: true,
		MinRetention:      kvstore.MinTTLSeconds * time.Second,
		RetentionStep:     time.Second,
		Corrupt: func(t *testing.T, store idempotency.Store, key string) {
			if err := store.(kv.Store).KV.Put(context.Background(), kv.ResultPrefix+key, `{"fingerprint":`, 60); err != nil {
				t.Fatal(err)
			}
		},
	})
}
