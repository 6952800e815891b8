package kvstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 14, 30, 0, 0, time.UTC)

func TestFakeRefusesWhatKVRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := NewFake(NewClock(t0).Now)
	tests := []struct {
		name, key string
		ttl       int
		wantErr   string
	}{
		{"ttl below KV's 60 s floor", "k", 59, "400 Invalid expiration_ttl"},
		{"zero ttl", "k", 0, "400 Invalid expiration_ttl"},
		{"key over 512 bytes", strings.Repeat("k", 513), 60, "414"},
		{"empty key", "", 60, "400 Invalid key name"},
		{"ttl at the floor", "k", 60, ""},
		{"key of exactly 512 bytes", strings.Repeat("k", 512), 60, ""},
	}
	for _, tt := range tests {
		err := f.Put(ctx, tt.key, "v", tt.ttl)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: Put error = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
	if _, ok := f.Stored("k"); !ok {
		t.Error("a put at the 60 s floor was not stored")
	}
}

func TestFakeExpiresOnItsClock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := NewClock(t0)
	f := NewFake(clock.Now)
	if err := f.Put(ctx, "k", "v", 60); err != nil {
		t.Fatal(err)
	}
	clock.Advance(59*time.Second + 999*time.Millisecond)
	if v, ok, err := f.Get(ctx, "k"); err != nil || !ok || v != "v" {
		t.Fatalf("before expiry: Get = %q, %v, %v", v, ok, err)
	}
	clock.Advance(time.Millisecond)
	if _, ok, err := f.Get(ctx, "k"); err != nil || ok {
		t.Fatalf("at expiry: found = %v, err = %v; want gone", ok, err)
	}
}

func TestFakeDeleteAndMissingKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := NewFake(NewClock(t0).Now)
	if _, ok, err := f.Get(ctx, "never"); ok || err != nil {
		t.Fatalf("missing key: found = %v, err = %v", ok, err)
	}
	if err := f.Delete(ctx, "never"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	f.Put(ctx, "k", "v", 60)
	f.Delete(ctx, "k")
	if _, ok, _ := f.Get(ctx, "k"); ok {
		t.Fatal("deleted key still found")
	}
}

func TestFakeCountsCallsAndFailsTheNthOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := NewFake(NewClock(t0).Now)
	boom := errors.New("boom")
	f.FailNth(OpPut, 2, boom)
	if err := f.Put(ctx, "a", "1", 60); err != nil {
		t.Fatalf("put 1: %v", err)
	}
	if err := f.Put(ctx, "b", "2", 60); !errors.Is(err, boom) {
		t.Fatalf("put 2: err = %v, want boom", err)
	}
	if err := f.Put(ctx, "c", "3", 60); err != nil {
		t.Fatalf("put 3: %v", err)
	}
	if _, ok := f.Stored("b"); ok {
		t.Error("a failed put stored its value")
	}
	f.Get(ctx, "a")
	f.Delete(ctx, "a")
	for op, want := range map[Op]int{OpPut: 3, OpGet: 1, OpDelete: 1} {
		if got := f.Calls(op); got != want {
			t.Errorf("Calls(%s) = %d, want %d", op, got, want)
		}
	}
}

// KV is eventually consistent across edge locations: a write is seen at once
// where it was made and elsewhere only after propagation.
func TestFakeLocationsSeeOtherWritesAfterTheLag(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := NewClock(t0)
	f := NewFake(clock.Now)
	f.SetPropagationLag(10 * time.Second)
	ams, sfo := f.At("AMS"), f.At("SFO")

	ams.Put(ctx, "k", "from AMS", 60)
	if v, ok, _ := ams.Get(ctx, "k"); !ok || v != "from AMS" {
		t.Fatalf("AMS reads its own write: %q, %v", v, ok)
	}
	if _, ok, _ := sfo.Get(ctx, "k"); ok {
		t.Fatal("SFO saw AMS's write before it propagated")
	}
	sfo.Put(ctx, "k", "from SFO", 60)
	if v, _, _ := ams.Get(ctx, "k"); v != "from AMS" {
		t.Fatalf("AMS sees %q before SFO's write propagated", v)
	}
	clock.Advance(10 * time.Second)
	for _, loc := range []Namespace{ams, sfo, f} {
		if v, _, _ := loc.Get(ctx, "k"); v != "from SFO" {
			t.Errorf("after propagation: %q, want the last write to win", v)
		}
	}
}
