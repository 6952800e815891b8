//go:build e2e

package e2e

import (
	"net/http"
	"testing"
)

// docs/contract.md#routes: the routes.

func TestHealthz(t *testing.T) {
	t.Parallel()
	w := defaultWorker.get(t)
	r := send(t, w, http.MethodGet, "/healthz", "")
	if r.status != http.StatusOK || string(r.body) != `{"status":"ok"}` {
		t.Errorf("GET /healthz: %s, want 200 {\"status\":\"ok\"}", r)
	}
	// Load balancers probe with HEAD too.
	if r := send(t, w, http.MethodHead, "/healthz", ""); r.status != http.StatusOK || len(r.body) != 0 {
		t.Errorf("HEAD /healthz: %s, want 200 with no body", r)
	}
	// The contract is silent on other methods here; the worker names GET and HEAD.
	r = send(t, w, http.MethodPost, "/healthz", msft)
	wantError(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
	if got := r.header.Get("Allow"); got != "GET, HEAD" {
		t.Errorf("POST /healthz: Allow %q, want GET, HEAD", got)
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	w := defaultWorker.get(t)
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/nope"},
		{http.MethodPost, "/orders/"},
		{http.MethodPost, "/orders/123"},
		{http.MethodPost, "/ORDERS"},
		{http.MethodGet, "/healthz/"},
	} {
		t.Run(c.method+c.path, func(t *testing.T) {
			r := send(t, w, c.method, c.path, msft, "Idempotency-Key", newKey())
			wantError(t, r, http.StatusNotFound, "not_found")
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	w := defaultWorker.get(t)
	for _, path := range []string{"/", "/orders"} {
		for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
			t.Run(method+path, func(t *testing.T) {
				// A valid key and order, so only the method can be wrong.
				r := send(t, w, method, path, msft, "Idempotency-Key", newKey(), "Content-Type", "application/json")
				wantError(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
				if got := r.header.Values("Allow"); len(got) != 1 || got[0] != "POST" {
					t.Errorf("Allow %q, want POST", got)
				}
			})
		}
		// HEAD has no body, but status and headers are the same.
		r := send(t, w, http.MethodHead, path, "")
		if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "POST" || len(r.body) != 0 {
			t.Errorf("HEAD %s: %d, Allow %q, body %q; want 405, POST, empty", path, r.status, r.header.Get("Allow"), r.body)
		}
	}
}
