//go:build e2e

package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// docs/contract.md#the-idempotency-state-machine: a setting out of range answers every intake request with 500
// misconfigured naming it; routes that are not intake still work.
func TestMisconfigured(t *testing.T) {
	t.Parallel()
	w := misconfiguredWorker.get(t)
	for _, c := range []struct {
		name    string
		body    string
		headers []string
	}{
		{"valid order", msft, []string{"Idempotency-Key", newKey(), "Content-Type", "application/json"}},
		{"no key", msft, nil},
		{"bad body", "not json", []string{"Idempotency-Key", newKey()}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := send(t, w, http.MethodPost, "/orders", c.body, c.headers...)
			body := wantError(t, r, http.StatusInternalServerError, "misconfigured")
			if msg, _ := body["message"].(string); !strings.Contains(msg, "RESULT_TTL_SECONDS") {
				t.Errorf("message %q does not name RESULT_TTL_SECONDS", msg)
			}
		})
	}
	if r := send(t, w, http.MethodGet, "/healthz", ""); r.status != http.StatusOK {
		t.Errorf("GET /healthz: %s, want 200 (it touches no storage)", r)
	}
	wantError(t, send(t, w, http.MethodGet, "/orders", ""), http.StatusMethodNotAllowed, "method_not_allowed")
	wantError(t, send(t, w, http.MethodGet, "/nope", ""), http.StatusNotFound, "not_found")
}
