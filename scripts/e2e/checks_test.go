//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/orderintake/edge/intake"
	"github.com/orderintake/edge/order"
)

// docs/contract.md#checks-in-order: the checks before any storage is touched.

func TestIdempotencyKeyHeader(t *testing.T) {
	t.Parallel()
	w := defaultWorker.get(t)
	ct := []string{"Content-Type", "application/json"}
	for _, c := range []struct {
		name    string
		headers []string
		code    string
	}{
		{"absent", nil, "missing_idempotency_key"},
		{"empty", []string{"Idempotency-Key", ""}, "missing_idempotency_key"},
		{"empty RFC 8941 string", []string{"Idempotency-Key", `""`}, "missing_idempotency_key"},
		// Two header lines reach the worker as one "a, b" value from workerd.
		{"sent twice", []string{"Idempotency-Key", newKey(), "Idempotency-Key", newKey()}, "invalid_idempotency_key"},
		{"comma-separated list", []string{"Idempotency-Key", newKey() + "," + newKey()}, "invalid_idempotency_key"},
		{"256 characters", []string{"Idempotency-Key", strings.Repeat("k", 256)}, "invalid_idempotency_key"},
		{"inner space", []string{"Idempotency-Key", "two words"}, "invalid_idempotency_key"},
		{"non-ASCII", []string{"Idempotency-Key", "clé-" + newKey()}, "invalid_idempotency_key"},
		{"unterminated RFC 8941 string", []string{"Idempotency-Key", `"abc`}, "invalid_idempotency_key"},
		{"bad escape in RFC 8941 string", []string{"Idempotency-Key", `"a\b"`}, "invalid_idempotency_key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := send(t, w, http.MethodPost, "/orders", msft, append(c.headers, ct...)...)
			wantError(t, r, http.StatusBadRequest, c.code)
		})
	}

	t.Run("255 characters", func(t *testing.T) {
		key := newKey()
		key = strings.Repeat("k", 255-len(key)) + key
		wantReceipt(t, post(t, w, key, msft), key, msftOrder)
	})
	t.Run("RFC 8941 string", func(t *testing.T) {
		key := newKey()
		first := send(t, w, http.MethodPost, "/orders", msft, "Idempotency-Key", `"`+key+`"`)
		wantReceipt(t, first, key, msftOrder)
		// The quotes are not part of the key: the bare key is the same key.
		wantReplay(t, post(t, w, key, msft), first.body)
	})
}

func TestContentType(t *testing.T) {
	t.Parallel()
	w := defaultWorker.get(t)
	for _, c := range []struct {
		contentType string // "" sends none
		accepted    bool
	}{
		{"", true},
		{"application/json", true},
		{"application/json; charset=utf-8", true},
		{"Application/JSON", true},
		{"application/x-www-form-urlencoded", false}, // what curl -d sends
		{"text/plain", false},
		{"application/jsonx", false},
	} {
		t.Run(fmt.Sprintf("%q", c.contentType), func(t *testing.T) {
			key := newKey()
			headers := []string{"Idempotency-Key", key}
			if c.contentType != "" {
				headers = append(headers, "Content-Type", c.contentType)
			}
			r := send(t, w, http.MethodPost, "/orders", msft, headers...)
			if c.accepted {
				wantReceipt(t, r, key, msftOrder)
			} else {
				wantError(t, r, http.StatusUnsupportedMediaType, "unsupported_media_type")
			}
		})
	}
}

// pad makes a valid order body of exactly n bytes.
func pad(n int) string {
	return msft[:len(msft)-1] + strings.Repeat(" ", n-len(msft)) + "}"
}

func TestBodySize(t *testing.T) {
	t.Parallel()
	w := defaultWorker.get(t)
	t.Run("16384 bytes", func(t *testing.T) {
		key := newKey()
		wantReceipt(t, post(t, w, key, pad(intake.MaxBodyBytes)), key, msftOrder)
	})
	t.Run("16385 bytes", func(t *testing.T) {
		wantError(t, post(t, w, newKey(), pad(intake.MaxBodyBytes+1)), http.StatusRequestEntityTooLarge, "payload_too_large")
	})
	// Under wrangler dev an unread rest of a large body breaks the local
	// proxy's connection to workerd and fails the next request (a 503 "Your
	// worker restarted mid-request"); the worker drains up to 1 MiB first.
	t.Run("200000 bytes, then the next order", func(t *testing.T) {
		wantError(t, post(t, w, newKey(), pad(200000)), http.StatusRequestEntityTooLarge, "payload_too_large")
		key := newKey()
		wantReceipt(t, post(t, w, key, msft), key, msftOrder)
	})
}

func TestMalformedJSON(t *testing.T) {
	t.Parallel()
	w := defaultWorker.get(t)
	for _, body := range []string{
		"",
		`{"symbol":"MSFT","side":"buy","quantity":100`,
		`[{"symbol":"MSFT","side":"buy","quantity":100}]`,
		`"MSFT"`,
		`null`,
		msft + ` {}`,
		msft + `x`,
		`{"symbol":"MSFT","symbol":"AAPL","side":"buy","quantity":100}`,
		"{\"symbol\":\"MS\xffFT\",\"side\":\"buy\",\"quantity\":100}",
		`symbol=MSFT&side=buy&quantity=100`,
	} {
		t.Run(fmt.Sprintf("%.30q", body), func(t *testing.T) {
			wantError(t, post(t, w, newKey(), body), http.StatusBadRequest, "malformed_json")
		})
	}
}

func TestInvalidOrder(t *testing.T) {
	t.Parallel()
	w := defaultWorker.get(t)
	for _, c := range []struct {
		body   string
		fields []string // the names reported, every bad one at once
	}{
		{`{}`, []string{"quantity", "side", "symbol"}},
		{`{"symbol":"","side":"hold","quantity":100.5,"price":12.5}`, []string{"price", "quantity", "side", "symbol"}},
		{`{"symbol":"MS FT","side":"buy","quantity":100}`, []string{"symbol"}},
		{`{"symbol":"` + strings.Repeat("X", 33) + `","side":"buy","quantity":100}`, []string{"symbol"}},
		{`{"symbol":7,"side":"BUY","quantity":100}`, []string{"side", "symbol"}},
		{`{"symbol":"MSFT","side":"sell","quantity":0}`, []string{"quantity"}},
		{`{"symbol":"MSFT","side":"sell","quantity":-1}`, []string{"quantity"}},
		{`{"symbol":"MSFT","side":"sell","quantity":"100"}`, []string{"quantity"}},
		{`{"symbol":"MSFT","side":"sell","quantity":null}`, []string{"quantity"}},
		{`{"symbol":"MSFT","side":"sell","quantity":9007199254740992}`, []string{"quantity"}},
		{`{"symbol":"MSFT","side":"sell","quantity":1e999999999}`, []string{"quantity"}},
	} {
		t.Run(fmt.Sprintf("%.40s", c.body), func(t *testing.T) {
			body := wantError(t, post(t, w, newKey(), c.body), http.StatusUnprocessableEntity, "invalid_order", "fields")
			fields, ok := body["fields"].(map[string]any)
			if !ok {
				t.Fatalf("fields is not an object: %v", body["fields"])
			}
			if got := slices.Sorted(maps.Keys(fields)); !slices.Equal(got, c.fields) {
				t.Errorf("fields %v, want %v", fields, c.fields)
			}
			for name, why := range fields {
				if s, _ := why.(string); s == "" {
					t.Errorf("field %s: no reason given: %v", name, why)
				}
			}
			if why, ok := fields["price"]; ok && why != "unknown field" {
				t.Errorf("price: %q, want \"unknown field\"", why)
			}
		})
	}
}

func TestWholeNumberForms(t *testing.T) {
	t.Parallel()
	w := defaultWorker.get(t)
	key := newKey()
	first := post(t, w, key, msft)
	wantReceipt(t, first, key, msftOrder)
	// 100.0 and 1e2 are 100: the same order, so a replay, not a key reuse.
	for _, body := range []string{
		`{"symbol":"MSFT","side":"buy","quantity":100.0}`,
		`{"quantity":1e2,"side":"buy","symbol":"MSFT"}`,
		` { "side" : "buy", "symbol" : "MSFT", "quantity" : 10E1 } `,
	} {
		t.Run(body, func(t *testing.T) {
			wantReplay(t, post(t, w, key, body), first.body)
		})
	}
	t.Run("2^53-1", func(t *testing.T) {
		key := newKey()
		o := order.Order{Symbol: "BRK.A", Side: "sell", Quantity: order.MaxQuantity}
		r := post(t, w, key, `{"symbol":"BRK.A","side":"sell","quantity":9007199254740991}`)
		wantReceipt(t, r, key, o)
		if !strings.Contains(string(r.body), `"quantity":9007199254740991,`) {
			t.Errorf("receipt does not carry the exact quantity: %s", r.body)
		}
	})
}

// A request that fails a check stores nothing: the same key then places the
// corrected order. Every check in turn, under one key.
func TestRejectionStoresNothing(t *testing.T) {
	t.Parallel()
	w := defaultWorker.get(t)
	key := newKey()
	for _, c := range []struct {
		body, contentType string
		status            int
	}{
		{msft, "text/plain", http.StatusUnsupportedMediaType},
		{pad(intake.MaxBodyBytes + 1), "application/json", http.StatusRequestEntityTooLarge},
		{`{"symbol":`, "application/json", http.StatusBadRequest},
		{`{"symbol":"MSFT","side":"buy","quantity":101,"price":1}`, "application/json", http.StatusUnprocessableEntity},
	} {
		r := send(t, w, http.MethodPost, "/orders", c.body, "Idempotency-Key", key, "Content-Type", c.contentType)
		if r.status != c.status {
			t.Errorf("status %d, want %d (answer: %s)", r.status, c.status, r)
		}
	}
	wantReceipt(t, post(t, w, key, msft), key, msftOrder)
}

// First failure wins (docs/contract.md#checks-in-order order): each request breaks two rules.
func TestCheckOrder(t *testing.T) {
	t.Parallel()
	w := defaultWorker.get(t)
	for _, c := range []struct {
		name    string
		body    string
		headers []string
		code    string
	}{
		{"key before content type", msft, []string{"Content-Type", "text/plain"}, "missing_idempotency_key"},
		{"content type before size", pad(intake.MaxBodyBytes + 1), []string{"Idempotency-Key", newKey(), "Content-Type", "text/plain"}, "unsupported_media_type"},
		{"size before syntax", "[" + strings.Repeat(" ", intake.MaxBodyBytes), []string{"Idempotency-Key", newKey()}, "payload_too_large"},
		{"syntax before fields", `{"price":1`, []string{"Idempotency-Key", newKey()}, "malformed_json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := send(t, w, http.MethodPost, "/orders", c.body, c.headers...)
			var body struct{ Error string }
			json.Unmarshal(r.body, &body)
			if body.Error != c.code {
				t.Errorf("error %q, want %q (answer: %.200s)", body.Error, c.code, r)
			}
		})
	}
}
