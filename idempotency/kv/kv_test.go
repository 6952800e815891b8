package kv_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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

// What reads back as a record and what is corrupt: records of the order
// intake's first version (no header, no expiresAt, no claimId) still read;
// a record missing what its version always wrote is damage, never a fresh key.
func TestRecordsOfEveryVersionReadBackAndDamageIsCorrupt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, key, value string
		corrupt          bool
	}{
		{"a first-version result", kv.ResultPrefix + "k",
			`{"fingerprint":"fp","status":201,"body":"{\"orderId\":\"o\"}","completedAt":"2026-11-23T14:30:50Z"}`, false},
		{"a first-version claim", kv.PendingPrefix + "k",
			`{"fingerprint":"fp","claimedAt":"2026-11-23T14:30:50Z","leaseUntil":"2026-11-23T14:31:20Z"}`, false},
		{"an engine result without a body", kv.ResultPrefix + "k",
			`{"fingerprint":"fp","status":204,"body":"","completedAt":"2026-11-23T14:30:50Z","expiresAt":"2026-11-24T14:30:50Z"}`, false},
		{"an engine claim without a fingerprint", kv.PendingPrefix + "k",
			`{"fingerprint":"","claimId":"c1","claimedAt":"2026-11-23T14:30:50Z","leaseUntil":"2026-11-23T14:31:20Z"}`, false},
		{"an engine result without a fingerprint", kv.ResultPrefix + "k",
			`{"fingerprint":"","status":200,"body":"done","completedAt":"2026-11-23T14:30:50Z","expiresAt":"2026-11-24T14:30:50Z"}`, false},
		{"a first-version result without a fingerprint", kv.ResultPrefix + "k", `{"fingerprint":"","status":201,"body":"{}"}`, true},
		{"a result with a body in base64", kv.ResultPrefix + "k",
			`{"fingerprint":"fp","status":200,"body":"","bodyBase64":"/w==","completedAt":"2026-11-23T14:30:50Z","expiresAt":"2026-11-24T14:30:50Z"}`, false},
		{"a result with a body in base64 that is not base64", kv.ResultPrefix + "k",
			`{"fingerprint":"fp","status":200,"body":"","bodyBase64":"!!","completedAt":"2026-11-23T14:30:50Z","expiresAt":"2026-11-24T14:30:50Z"}`, true},
		{"not JSON", kv.ResultPrefix + "k", "not json", true},
		{"truncated", kv.ResultPrefix + "k", `{"fingerprint":`, true},
		{"a first-version result without its body", kv.ResultPrefix + "k", `{"fingerprint":"x","status":201,"body":""}`, true},
		{"a result without a status", kv.ResultPrefix + "k", `{"fingerprint":"x","body":"{}"}`, true},
		{"a claim without a lease", kv.PendingPrefix + "k", `{"fingerprint":""}`, true},
		{"a claim without a fingerprint or an id", kv.PendingPrefix + "k", `{"leaseUntil":"2026-11-23T14:31:20Z"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := kvstore.NewClock(storetest.Start)
			fake := kvstore.NewFake(clock.Now)
			if err := fake.Put(context.Background(), tt.key, tt.value, 60); err != nil {
				t.Fatal(err)
			}
			result, claim, err := kv.Store{KV: fake}.Lookup(context.Background(), "k")
			if corrupt := errors.Is(err, idempotency.ErrCorruptRecord); corrupt != tt.corrupt {
				t.Errorf("Lookup = %v, %v, %v; want corrupt %v", result, claim, err, tt.corrupt)
			}
			if !tt.corrupt && result == nil && claim == nil {
				t.Error("Lookup found nothing")
			}
			if raw, _ := fake.Stored(tt.key); raw != tt.value {
				t.Errorf("the record now reads %q", raw)
			}
		})
	}
}

// A UTF-8 body is stored as the order intake always stored it, in "body";
// only one that is not (JSON strings cannot hold it) goes in "bodyBase64".
func TestABodyIsBase64OnlyWhenItIsNotUTF8(t *testing.T) {
	t.Parallel()
	tests := []struct{ body, want string }{
		{`{"orderId":"o-1"}`, `"body":"{\"orderId\":\"o-1\"}"`},
		{"", `"body":""`},
		{"\xff\x00", `"body":"","completedAt":"2026-11-23T14:30:50.123Z","expiresAt":"2026-11-24T14:30:50.123Z","bodyBase64":"/wA="`},
	}
	for _, tt := range tests {
		clock := kvstore.NewClock(storetest.Start)
		fake := kvstore.NewFake(clock.Now)
		r := idempotency.Result{Fingerprint: "fp", Status: 200, Body: tt.body, CompletedAt: clock.Now(), ExpiresAt: clock.Now().Add(24 * time.Hour)}
		if err := (kv.Store{KV: fake}).WriteResult(context.Background(), "k", r, 24*time.Hour); err != nil {
			t.Fatal(err)
		}
		raw, _ := fake.Stored(kv.ResultPrefix + "k")
		if !strings.Contains(raw, tt.want) || (utf8.ValidString(tt.body) && strings.Contains(raw, "bodyBase64")) {
			t.Errorf("body %q stored as %s, want %s in it", tt.body, raw, tt.want)
		}
	}
}

// interleaved is KV at one location where another call's write lands right
// after this call's claim write, before its read-back: rival is that call's
// claim, or nil when that call deletes the claim (it released the key).
type interleaved struct {
	*kvstore.Fake
	rival *idempotency.Claim
}

func (s interleaved) Put(ctx context.Context, key, value string, ttlSeconds int) error {
	if err := s.Fake.Put(ctx, key, value, ttlSeconds); err != nil || !strings.HasPrefix(key, kv.PendingPrefix) {
		return err
	}
	if s.rival == nil {
		return s.Fake.Delete(ctx, key)
	}
	raw, _ := json.Marshal(s.rival)
	return s.Fake.Put(ctx, key, string(raw), ttlSeconds)
}

// What the read-back promises, and what it cannot: a claim overwritten
// before its read-back loses and is told the claim that holds the key; a
// claim deleted meanwhile loses with no holder; two claims at two locations
// within KV's propagation lag both win (package d1 closes that race).
func TestWhatTheReadBackPromises(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	claim := func(clock *kvstore.Clock, id string) idempotency.Claim {
		return idempotency.Claim{Fingerprint: "fp", ID: id, ClaimedAt: clock.Now(), LeaseUntil: clock.Now().Add(storetest.Lease)}
	}

	t.Run("overwritten before the read-back", func(t *testing.T) {
		t.Parallel()
		clock := kvstore.NewClock(storetest.Start)
		rival := claim(clock, "rival")
		store := kv.Store{KV: interleaved{kvstore.NewFake(clock.Now), &rival}}
		won, holder, err := store.Claim(ctx, "k", claim(clock, "mine"))
		if won || err != nil || holder == nil || holder.ID != "rival" {
			t.Errorf("Claim = %v, %+v, %v; want lost to the rival, told its claim", won, holder, err)
		}
	})
	t.Run("deleted before the read-back", func(t *testing.T) {
		t.Parallel()
		clock := kvstore.NewClock(storetest.Start)
		store := kv.Store{KV: interleaved{kvstore.NewFake(clock.Now), nil}}
		won, holder, err := store.Claim(ctx, "k", claim(clock, "mine"))
		if won || err != nil || holder != nil {
			t.Errorf("Claim = %v, %+v, %v; want lost with no holder", won, holder, err)
		}
	})
	t.Run("two locations within the propagation lag", func(t *testing.T) {
		t.Parallel()
		clock := kvstore.NewClock(storetest.Start)
		fake := kvstore.NewFake(clock.Now)
		fake.SetPropagationLag(10 * time.Second) // real KV: up to about 60 s
		ams, sfo := kv.Store{KV: fake.At("AMS")}, kv.Store{KV: fake.At("SFO")}
		wonAMS, _, errAMS := ams.Claim(ctx, "k", claim(clock, "ams"))
		wonSFO, _, errSFO := sfo.Claim(ctx, "k", claim(clock, "sfo"))
		if !wonAMS || !wonSFO || errAMS != nil || errSFO != nil {
			t.Errorf("AMS won %v (%v), SFO won %v (%v); want both: each reads back its own claim", wonAMS, errAMS, wonSFO, errSFO)
		}
		clock.Advance(10 * time.Second)
		_, atAMS, _ := ams.Lookup(ctx, "k")
		_, atSFO, _ := sfo.Lookup(ctx, "k")
		if atAMS == nil || atSFO == nil || atAMS.ID != atSFO.ID {
			t.Errorf("after the lag AMS sees %+v and SFO %+v; want one claim, the last written, everywhere", atAMS, atSFO)
		}
	})
}
