//go:build e2e

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// docs/contract.md#client-scoping: client scoping, on authWorker.

var tokens = map[string]string{
	"alice": "e2e-alice-0c3f9a7d2b6e4f18a5d0c7e2b9f4a1d6",
	"bob":   "e2e-bob-7e1d4c9a2f6b3e8d5a0c4f7b2e9d6a13",
}

// clientTokens is the CLIENT_TOKENS setting: each client's token hash.
func clientTokens() string {
	hashes := map[string]string{}
	for id, token := range tokens {
		sum := sha256.Sum256([]byte(token))
		hashes[id] = hex.EncodeToString(sum[:])
	}
	b, _ := json.Marshal(hashes)
	return string(b)
}

func postAs(t *testing.T, w *worker, client, key, body string) reply {
	t.Helper()
	return send(t, w, http.MethodPost, "/orders", body,
		"Authorization", "Bearer "+tokens[client], "Idempotency-Key", key, "Content-Type", "application/json")
}

func TestUnauthorized(t *testing.T) {
	t.Parallel()
	w := authWorker.get(t)
	for _, c := range []struct {
		name    string
		headers []string
	}{
		{"no Authorization", nil},
		{"unknown token", []string{"Authorization", "Bearer not-a-known-token"}},
		{"Basic scheme", []string{"Authorization", "Basic " + tokens["alice"]}},
		{"token sent twice", []string{"Authorization", "Bearer " + tokens["alice"], "Authorization", "Bearer " + tokens["alice"]}},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Checked before anything else: the key is missing and the body
			// is not JSON, yet the answer is 401.
			r := send(t, w, http.MethodPost, "/orders", "not json", c.headers...)
			wantError(t, r, http.StatusUnauthorized, "unauthorized")
			if got := r.header.Values("WWW-Authenticate"); len(got) != 1 || got[0] != "Bearer" {
				t.Errorf("WWW-Authenticate %q, want Bearer", got)
			}
		})
	}
	// Routes that are not intake stay open.
	if r := send(t, w, http.MethodGet, "/healthz", ""); r.status != http.StatusOK {
		t.Errorf("GET /healthz: %s, want 200", r)
	}
}

func TestClientScope(t *testing.T) {
	t.Parallel()
	checkClientScope(t, authWorker.get(t))
}

// checkClientScope checks client scoping on w, which knows the clients of
// clientTokens.
func checkClientScope(t *testing.T, w *worker) {
	t.Helper()
	key := newKey()
	alice := postAs(t, w, "alice", key, msft)
	aliceReceipt := wantScopedReceipt(t, alice, "alice", key, msftOrder)
	// Bob's key of the same name is his own: a new order, not alice's replay.
	bobReceipt := wantScopedReceipt(t, postAs(t, w, "bob", key, msft), "bob", key, msftOrder)
	if bobReceipt.OrderID == aliceReceipt.OrderID {
		t.Errorf("alice and bob got the same order id %s", bobReceipt.OrderID)
	}
	// Bob reusing the key for another order is judged against his own
	// record, and leaves alice's alone.
	wantReplay(t, postAs(t, w, "alice", key, msft), alice.body)
	wantError(t, postAs(t, w, "bob", key, aapl), http.StatusUnprocessableEntity, "idempotency_key_reused")
	wantReplay(t, postAs(t, w, "alice", key, msft), alice.body)

	// docs/contract.md#logs: no credentials in the log.
	waitLog(t, w, 2, func(e logEntry) bool { return e.OrderID == aliceReceipt.OrderID && e.Event == "replayed" })
	for id, token := range tokens {
		if strings.Contains(w.srv.Log(), token) {
			t.Errorf("%s's token is in the worker's log", id)
		}
	}
}
