package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/orderintake/edge/idempotency/memory"
)

func TestEachDeliveryIsProcessedOnce(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC) }
	h := newHandler(memory.New(now), now)
	deliver := func(id, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/webhooks", strings.NewReader(body))
		if id != "" {
			req.Header.Set("Webhook-Id", id)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	first := deliver("msg_1", `{"type":"invoice.paid"}`)
	retry := deliver("msg_1", `{"type":"invoice.paid"}`)
	if first.Code != 200 || retry.Code != 200 || retry.Body.String() != first.Body.String() || retry.Header().Get("Idempotent-Replay") != "true" {
		t.Fatalf("first %d %s, retry %d %s: want the retry to replay the first answer", first.Code, first.Body, retry.Code, retry.Body)
	}
	if rec := deliver("msg_1", `{"type":"invoice.voided"}`); rec.Code != 422 {
		t.Errorf("another body under msg_1: %d %s, want 422", rec.Code, rec.Body)
	}
	if rec := deliver("", `{"type":"invoice.paid"}`); rec.Code != 400 || !strings.Contains(rec.Body.String(), "missing_idempotency_key") {
		t.Errorf("no Webhook-Id: %d %s, want 400 missing_idempotency_key", rec.Code, rec.Body)
	}
	bad := deliver("msg_2", `{}`)
	if again := deliver("msg_2", `{}`); bad.Code != 400 || again.Body.String() != bad.Body.String() {
		t.Errorf("a bad delivery: %d, then %d %s: want its 400 stored and replayed", bad.Code, again.Code, again.Body)
	}
	stats := httptest.NewRecorder()
	h.ServeHTTP(stats, httptest.NewRequest(http.MethodGet, "/stats", nil))
	if stats.Body.String() != `{"processed":1}` {
		t.Errorf("stats %s, want one delivery processed", stats.Body)
	}
}
