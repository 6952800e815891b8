//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	orderclient "github.com/orderintake/edge/client"
	"github.com/orderintake/edge/order"
)

// docs/contract.md#retrying: the client package against the worker on workerd.

// attemptLog is an http.RoundTripper for the client under test: it records
// each attempt's answer and holds the worker's traffic lock for each
// attempt only (not across the client's waits, which would hold up every
// other test's wrangler command).
type attemptLog struct {
	w        *worker
	mu       sync.Mutex
	attempts []attemptSeen
}

type attemptSeen struct {
	sent   time.Time
	key    string
	status int // 0: no answer
}

func (a *attemptLog) RoundTrip(r *http.Request) (*http.Response, error) {
	a.w.traffic.RLock()
	seen := attemptSeen{sent: time.Now(), key: r.Header.Get("Idempotency-Key")}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		seen.status = resp.StatusCode
		resp.Body = &unlockOnClose{ReadCloser: resp.Body, unlock: sync.OnceFunc(a.w.traffic.RUnlock)}
	} else {
		a.w.traffic.RUnlock()
	}
	a.mu.Lock()
	a.attempts = append(a.attempts, seen)
	a.mu.Unlock()
	return resp, err
}

func (a *attemptLog) seen() []attemptSeen {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]attemptSeen(nil), a.attempts...)
}

func (a *attemptLog) statuses() []int {
	var s []int
	for _, at := range a.seen() {
		s = append(s, at.status)
	}
	return s
}

type unlockOnClose struct {
	io.ReadCloser
	unlock func()
}

func (u *unlockOnClose) Close() error {
	defer u.unlock()
	return u.ReadCloser.Close()
}

// newOrderClient is a client of w whose attempts are logged.
func newOrderClient(w *worker, token string) (*orderclient.Client, *attemptLog) {
	log := &attemptLog{w: w}
	return &orderclient.Client{BaseURL: w.srv.URL, Token: token,
		HTTPClient: &http.Client{Transport: log, Timeout: 30 * time.Second}}, log
}

// rawPost is post for a goroutine other than the test's: it reports instead
// of failing the test.
func rawPost(w *worker, key, body string) (reply, error) {
	w.traffic.RLock()
	defer w.traffic.RUnlock()
	req, err := http.NewRequest(http.MethodPost, w.srv.URL+"/orders", strings.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Idempotency-Key", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b}, err
}

// The client races a duplicate: a raw POST of the same order under the same
// key, released at the same instant. Whoever wins, both carry the one order
// id, and the client's receipt is the stored one, which every later retry
// replays. When the client loses, it meets a 409 and retries after its
// Retry-After; on leaseWorker (a 2-second lease) that costs at most 2 s,
// where the default 30-second lease would make a lost round last 30 s.
func TestOrderClientRacesADuplicate(t *testing.T) {
	t.Parallel()
	w := leaseWorker.get(t)
	const rounds = 6
	var clientMet409, rawMet409 int
	for round := range rounds {
		key := newKey()
		c, log := newOrderClient(w, "")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		start := make(chan struct{})
		var raw reply
		var rawErr error
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			raw, rawErr = rawPost(w, key, msft)
		}()
		close(start)
		rc, err := c.Submit(ctx, key, msftOrder)
		wg.Wait()
		cancel()
		if err != nil {
			t.Fatalf("round %d: Submit: %v (attempts %v)", round, err, log.statuses())
		}
		if rawErr != nil {
			t.Fatalf("round %d: the raw duplicate: %v", round, rawErr)
		}

		want := order.OrderID("", key, msftOrder.Fingerprint())
		if rc.OrderID != want || rc.Status != "accepted" || rc.Symbol != "MSFT" || rc.Side != "buy" || rc.Quantity != 100 {
			t.Errorf("round %d: the client's receipt %+v, want order id %s for %+v", round, rc, want, msftOrder)
		}
		for i, at := range log.seen() {
			if at.key != key {
				t.Errorf("round %d: attempt %d sent key %q, want %q", round, i+1, at.key, key)
			}
		}
		statuses := log.statuses()
		if last := statuses[len(statuses)-1]; last != http.StatusCreated && last != http.StatusOK {
			t.Errorf("round %d: the client's attempts got %v; want a 201 or 200 last", round, statuses)
		}
		for _, s := range statuses[:len(statuses)-1] {
			if s != http.StatusConflict {
				t.Errorf("round %d: the client's attempts got %v; want only 409s before the receipt", round, statuses)
			}
		}
		if len(statuses) > 1 {
			clientMet409++
		}

		switch raw.status {
		case http.StatusCreated, http.StatusOK:
			var rawRc order.Receipt
			if err := json.Unmarshal(raw.body, &rawRc); err != nil || rawRc.OrderID != rc.OrderID {
				t.Errorf("round %d: the duplicate got order id %q (%v), the client %q; want one order id", round, rawRc.OrderID, err, rc.OrderID)
			}
		case http.StatusConflict:
			rawMet409++
			wantError(t, raw, http.StatusConflict, "in_progress", "retryAfter")
		default:
			t.Errorf("round %d: the duplicate got %s; want 201, 200 or 409", round, raw)
		}

		// What is stored: every retry replays it, and it is the
		// client's receipt (and the duplicate's, byte for byte, when that
		// one placed it).
		stored := post(t, w, key, msft)
		if stored.status != http.StatusOK {
			t.Fatalf("round %d: a retry after both got %s, want the 200 replay", round, stored)
		}
		var storedRc order.Receipt
		if err := json.Unmarshal(stored.body, &storedRc); err != nil {
			t.Fatalf("round %d: the stored receipt: %v", round, err)
		}
		if storedRc != rc {
			t.Errorf("round %d: the client got %+v, the worker stored %+v", round, rc, storedRc)
		}
		if raw.status == http.StatusCreated && !bytes.Equal(raw.body, stored.body) {
			t.Errorf("round %d: the duplicate's 201 body differs from the stored one:\n%s\n%s", round, raw.body, stored.body)
		}
		againRc, err := c.Submit(context.Background(), key, msftOrder)
		if err != nil || againRc != rc {
			t.Errorf("round %d: submitting again under the key gave %+v, %v; want the same receipt", round, againRc, err)
		}
	}
	t.Logf("%d rounds: the client met a 409 in %d, the raw duplicate in %d", rounds, clientMet409, rawMet409)
}

// A claim that another request holds (written into KV, docs/contract.md#the-idempotency-state-machine): the client
// gets 409 in_progress, waits exactly as long as Retry-After says, which is
// when the lease ends, and then places the order.
func TestOrderClientWaitsOutALiveClaim(t *testing.T) {
	t.Parallel()
	w := defaultWorker.get(t)
	key := newKey()
	claimedAt := time.Now()
	leaseUntil := claimedAt.Add(40 * time.Second) // a wrangler kv command takes longer than a short lease on a loaded machine
	kvPut(t, w, map[string]string{"pending:" + key: claimRecord(t, msftOrder, claimedAt, leaseUntil)})
	if left := time.Until(leaseUntil); left < 2*time.Second {
		t.Fatalf("writing the claim took until %v before the lease ends; too late to test it", left)
	}

	c, log := newOrderClient(w, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rc, err := c.Submit(ctx, key, msftOrder)
	if err != nil {
		t.Fatalf("Submit: %v (attempts %v)", err, log.statuses())
	}
	seen := log.seen()
	if got := log.statuses(); fmt.Sprint(got) != fmt.Sprint([]int{http.StatusConflict, http.StatusCreated}) {
		t.Fatalf("attempts got %v, want [409 201]: one wait, as long as Retry-After", got)
	}
	// Retry-After is the lease's remaining time in whole seconds, rounded
	// up, so the retry comes at or after the lease's end (a clock tick of
	// slack), and not much later.
	if early := leaseUntil.Sub(seen[1].sent); early > 10*time.Millisecond {
		t.Errorf("the retry came %v before the lease ended", early)
	}
	if late := seen[1].sent.Sub(leaseUntil); late > 2*time.Second {
		t.Errorf("the retry came %v after the lease ended; want within Retry-After's rounding", late)
	}
	if want := order.OrderID("", key, msftOrder.Fingerprint()); rc.OrderID != want {
		t.Errorf("order id %s, want %s", rc.OrderID, want)
	}
	stored := post(t, w, key, msft)
	var storedRc order.Receipt
	if err := json.Unmarshal(stored.body, &storedRc); err != nil || stored.status != http.StatusOK || storedRc != rc {
		t.Errorf("the stored answer %s differs from the client's receipt %+v", stored, rc)
	}
}

// With client scoping on (docs/contract.md#client-scoping): the token goes along, and a refusal is
// one attempt with its problem details.
func TestOrderClientWithClientAuth(t *testing.T) {
	t.Parallel()
	w := authWorker.get(t)
	key := newKey()
	c, _ := newOrderClient(w, tokens["alice"])
	rc, err := c.Submit(context.Background(), key, msftOrder)
	if err != nil {
		t.Fatal(err)
	}
	if want := order.OrderID("alice", key, msftOrder.Fingerprint()); rc.OrderID != want {
		t.Errorf("order id %s, want alice's %s", rc.OrderID, want)
	}

	// An invalid order: one attempt, the bad field named.
	_, err = c.Submit(context.Background(), newKey(), order.Order{Symbol: "MSFT", Side: "hold", Quantity: 0})
	var invalid *orderclient.Error
	if !errors.As(err, &invalid) || invalid.Status != http.StatusUnprocessableEntity || invalid.Code != "invalid_order" ||
		invalid.Fields["side"] == "" || invalid.Fields["quantity"] == "" || invalid.Attempts != 1 {
		t.Errorf("an invalid order: %v; want one attempt answered 422 invalid_order naming side and quantity", err)
	}

	anonymous, log := newOrderClient(w, "")
	_, err = anonymous.Submit(context.Background(), key, msftOrder)
	var e *orderclient.Error
	if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || e.Code != "unauthorized" || e.Detail == "" {
		t.Errorf("without a token: %v; want the 401 unauthorized as an *Error", err)
	}
	if got := log.statuses(); len(got) != 1 {
		t.Errorf("without a token: attempts %v, want exactly one", got)
	}
}
