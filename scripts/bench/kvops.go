//go:build unix

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	idemkv "github.com/orderintake/edge/idempotency/kv"
	"github.com/orderintake/edge/intake"
	"github.com/orderintake/edge/kvstore"
	"github.com/orderintake/edge/order"
)

// kvCount is the KV operations one request made.
type kvCount struct{ get, put, del int }

// kvOpsPerPath runs the order handler natively over kvstore.Fake and counts the
// KV operations of each benchmarked path, the way the worker makes them.
func kvOpsPerPath() (map[string]kvCount, error) {
	clock := kvstore.NewClock(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
	kv := kvstore.NewFake(clock.Now)
	settings, err := intake.ParseSettings(func(string) string { return "" })
	if err != nil {
		return nil, err
	}
	settings.ResultCacheEntries = 0 // every replay reads KV, as one that misses the cache
	h := intake.New(intake.Config{Store: idemkv.Store{KV: kv}, Placer: order.MintReceipt{Now: clock.Now},
		Settings: settings, Log: io.Discard, Now: clock.Now})
	calls := func() kvCount {
		return kvCount{kv.Calls(kvstore.OpGet), kv.Calls(kvstore.OpPut), kv.Calls(kvstore.OpDelete)}
	}
	post := func(key, body string, want int) (kvCount, error) {
		before := calls()
		req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(body))
		req.Header.Set("Idempotency-Key", key)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			return kvCount{}, fmt.Errorf("POST %s under %q: %d %s, want %d", body, key, rec.Code, rec.Body, want)
		}
		after := calls()
		return kvCount{after.get - before.get, after.put - before.put, after.del - before.del}, nil
	}
	if err := kv.Put(context.Background(), "pending:"+inFlightKey, inFlightClaim(clock.Now()), 60); err != nil {
		return nil, err
	}
	out := map[string]kvCount{}
	for _, step := range []struct {
		path, key, body string
		want            int
	}{
		{"new", "kvops-new", validOrder, http.StatusCreated},
		{"replay", "kvops-new", validOrder, http.StatusOK},
		{"409", inFlightKey, validOrder, http.StatusConflict},
		{"422", "kvops-invalid", invalidOrder, http.StatusUnprocessableEntity},
	} {
		if out[step.path], err = post(step.key, step.body, step.want); err != nil {
			return nil, err
		}
	}
	return out, nil
}
