package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/orderintake/edge/order"
)

var msft = order.Order{Symbol: "MSFT", Side: "buy", Quantity: 100}

const receiptBody = `{"orderId":"0b7e4a6e-5c55-5d8e-9d1f-7d4f6c1b2a3e","status":"accepted","symbol":"MSFT","side":"buy","quantity":100,"acceptedAt":"2026-11-23T14:30:50.123Z"}`

var wantReceipt = order.Receipt{OrderID: "0b7e4a6e-5c55-5d8e-9d1f-7d4f6c1b2a3e", Status: "accepted",
	Symbol: "MSFT", Side: "buy", Quantity: 100, AcceptedAt: "2026-11-23T14:30:50.123Z"}

// step answers one attempt.
type step func(w http.ResponseWriter, r *http.Request)

// answer is a step that sends status, headers (name, value pairs) and body.
func answer(status int, body string, headers ...string) step {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		if w.Header().Get("Content-Type") == "" {
			ct := "application/problem+json"
			if status < 300 {
				ct = "application/json"
			}
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// problem is a step that answers an RFC 9457 problem, as docs/contract.md#routes has it.
func problem(status int, code string, extra string, headers ...string) step {
	detail := "Something about " + code + "."
	body := fmt.Sprintf(`{"type":"https://order-intake.example/problems/%s","title":"Title of %s","status":%d,"detail":%q,"error":%q,"message":%q%s}`,
		code, code, status, detail, code, detail, extra)
	return answer(status, body, headers...)
}

// hangUp is a step that closes the connection without an answer: a network
// error.
func hangUp(w http.ResponseWriter, r *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
}

var created = answer(http.StatusCreated, receiptBody)

// request is what the fake worker saw of one attempt.
type request struct {
	method, path string
	header       http.Header
	body         string
}

// fakeWorker answers attempt i with steps[i]; the last step repeats.
type fakeWorker struct {
	*httptest.Server
	mu    sync.Mutex
	steps []step
	seen  []request
}

func newFakeWorker(t *testing.T, steps ...step) *fakeWorker {
	t.Helper()
	f := &fakeWorker{steps: steps}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.seen = append(f.seen, request{r.Method, r.URL.Path, r.Header.Clone(), string(b)})
		s := f.steps[min(len(f.seen), len(f.steps))-1]
		f.mu.Unlock()
		s(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeWorker) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.seen...)
}

// fakeTime is the client's clock and sleep: no real time passes.
type fakeTime struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

// install gives c the fake clock and a jitter that draws the largest wait
// allowed, so that every wait is exact.
func (ft *fakeTime) install(c *Client) *Client {
	c.now = func() time.Time {
		ft.mu.Lock()
		defer ft.mu.Unlock()
		return ft.now
	}
	c.sleep = func(ctx context.Context, d time.Duration) error {
		ft.mu.Lock()
		defer ft.mu.Unlock()
		ft.sleeps = append(ft.sleeps, d)
		ft.now = ft.now.Add(d)
		return ctx.Err()
	}
	c.jitter = func(bound time.Duration) time.Duration { return bound }
	return c
}

func (ft *fakeTime) waits() []time.Duration {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return append([]time.Duration(nil), ft.sleeps...)
}

// newClient is a client of f on a fake clock that starts at the real now,
// so that contexts with real deadlines compare as they should.
func newClient(f *fakeWorker) (*Client, *fakeTime) {
	ft := &fakeTime{now: time.Now()}
	return ft.install(&Client{BaseURL: f.URL, HTTPClient: f.Client()}), ft
}

func equalWaits(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The scenario: no answer, then 503 with Retry-After: 1, then 409
// with Retry-After: 2, then the receipt. One key throughout, and each wait
// is at least what the worker asked for.
func TestRetriesUnderOneKeyHonouringRetryAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		jitter    func(time.Duration) time.Duration
		wantWaits []time.Duration
	}{
		// The largest draw: the backoff bound after the first failure
		// (250 ms), then Retry-After, longer than the bounds 500 ms and 1 s.
		{"largest jitter", func(b time.Duration) time.Duration { return b }, []time.Duration{250 * time.Millisecond, time.Second, 2 * time.Second}},
		{"no jitter", func(time.Duration) time.Duration { return 0 }, []time.Duration{0, time.Second, 2 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeWorker(t,
				hangUp,
				problem(http.StatusServiceUnavailable, "storage_unavailable", `,"retryAfter":1`, "Retry-After", "1"),
				problem(http.StatusConflict, "in_progress", `,"retryAfter":2`, "Retry-After", "2"),
				created)
			c, ft := newClient(f)
			c.jitter = tc.jitter
			rc, err := c.Submit(context.Background(), "key-1", msft)
			if err != nil {
				t.Fatal(err)
			}
			if rc != wantReceipt {
				t.Errorf("receipt %+v, want %+v", rc, wantReceipt)
			}
			reqs := f.requests()
			if len(reqs) != 4 {
				t.Fatalf("%d attempts, want 4", len(reqs))
			}
			for i, r := range reqs {
				if k := r.header.Values("Idempotency-Key"); len(k) != 1 || k[0] != "key-1" {
					t.Errorf("attempt %d: Idempotency-Key %q, want key-1", i+1, k)
				}
			}
			if got := ft.waits(); !equalWaits(got, tc.wantWaits) {
				t.Errorf("waits %v, want %v", got, tc.wantWaits)
			}
		})
	}
}

// Without a key, the client makes one random UUID and keeps it.
func TestNewKeyIsOneRandomUUIDForAllAttempts(t *testing.T) {
	t.Parallel()
	f := newFakeWorker(t, answer(http.StatusBadGateway, "<html>bad gateway</html>", "Content-Type", "text/html"), created)
	c, _ := newClient(f)
	if _, err := c.Submit(context.Background(), "", msft); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	key := reqs[0].header.Get("Idempotency-Key")
	if id, err := uuid.Parse(key); err != nil || id.Version() != 4 || id.String() != key {
		t.Errorf("Idempotency-Key %q is not a canonical random UUID (%v)", key, err)
	}
	if k := reqs[1].header.Get("Idempotency-Key"); k != key {
		t.Errorf("the retry's key %q differs from the first attempt's %q", k, key)
	}

	// Another logical order gets another key.
	f2 := newFakeWorker(t, created)
	c2, _ := newClient(f2)
	c2.Submit(context.Background(), "", msft)
	if k := f2.requests()[0].header.Get("Idempotency-Key"); k == key {
		t.Errorf("two orders got the same key %s", k)
	}
}

// What goes on the wire.
func TestRequest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, token, wantAuth string
		trailingSlash         bool
	}{
		{"no token", "", "", false},
		{"token", "s3cr3t", "Bearer s3cr3t", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeWorker(t, created)
			c, _ := newClient(f)
			c.Token = tc.token
			if tc.trailingSlash {
				c.BaseURL += "/"
			}
			if _, err := c.Submit(context.Background(), "k", msft); err != nil {
				t.Fatal(err)
			}
			r := f.requests()[0]
			want, _ := json.Marshal(msft)
			if r.method != http.MethodPost || r.path != "/orders" || r.body != string(want) {
				t.Errorf("sent %s %s %s, want POST /orders %s", r.method, r.path, r.body, want)
			}
			if r.body != `{"symbol":"MSFT","side":"buy","quantity":100}` {
				t.Errorf("body %s", r.body)
			}
			for name, want := range map[string]string{
				"Content-Type": "application/json", "Accept": "application/json",
				"Idempotency-Key": "k", "Authorization": tc.wantAuth,
			} {
				if got := r.header.Values(name); (want == "" && len(got) != 0) || (want != "" && (len(got) != 1 || got[0] != want)) {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
		})
	}
}

// Answers that will not change are not retried, and their problem details
// reach the caller.
func TestFinalAnswersAreNotRetried(t *testing.T) {
	t.Parallel()
	fields := map[string]string{"quantity": "must be a whole number from 1 to 9007199254740991", "price": "unknown field"}
	fieldsJSON, _ := json.Marshal(fields)
	for _, tc := range []struct {
		name       string
		step       step
		status     int
		code       string
		fields     map[string]string
		reason     string
		retryAfter time.Duration
	}{
		{"400 missing key", problem(400, "missing_idempotency_key", ""), 400, "missing_idempotency_key", nil, "", 0},
		{"400 malformed JSON", problem(400, "malformed_json", ""), 400, "malformed_json", nil, "", 0},
		{"401", problem(401, "unauthorized", "", "WWW-Authenticate", "Bearer"), 401, "unauthorized", nil, "", 0},
		{"413", problem(413, "payload_too_large", ""), 413, "payload_too_large", nil, "", 0},
		{"415", problem(415, "unsupported_media_type", ""), 415, "unsupported_media_type", nil, "", 0},
		{"422 invalid order", problem(422, "invalid_order", `,"fields":`+string(fieldsJSON)), 422, "invalid_order", fields, "", 0},
		{"422 key reused", problem(422, "idempotency_key_reused", ""), 422, "idempotency_key_reused", nil, "", 0},
		{"422 order rejected", problem(422, "order_rejected", `,"reason":"market closed"`), 422, "order_rejected", nil, "market closed", 0},
		{"404", problem(404, "not_found", ""), 404, "not_found", nil, "", 0},
		{"405", problem(405, "method_not_allowed", "", "Allow", "POST"), 405, "method_not_allowed", nil, "", 0},
		{"408 is a 4xx", problem(408, "request_timeout", ""), 408, "request_timeout", nil, "", 0},
		{"409 other than in_progress", problem(409, "conflict", ""), 409, "conflict", nil, "", 0},
		{"500 misconfigured", problem(500, "misconfigured", ""), 500, "misconfigured", nil, "", 0},
		{"500 corrupt record", problem(500, "corrupt_record", ""), 500, "corrupt_record", nil, "", 0},
		{"501", problem(501, "not_implemented", ""), 501, "not_implemented", nil, "", 0},
		{"400 with a Retry-After", problem(400, "malformed_json", "", "Retry-After", "3"), 400, "malformed_json", nil, "", 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeWorker(t, tc.step, created)
			c, ft := newClient(f)
			_, err := c.Submit(context.Background(), "k", msft)
			if n := len(f.requests()); n != 1 {
				t.Errorf("%d attempts, want exactly 1", n)
			}
			if w := ft.waits(); len(w) != 0 {
				t.Errorf("waited %v", w)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T), want an *Error", err, err)
			}
			if e.Status != tc.status || e.Code != tc.code || e.Reason != tc.reason || e.Attempts != 1 || e.RetryAfter != tc.retryAfter {
				t.Errorf("Error %+v, want status %d, code %q, reason %q, 1 attempt, RetryAfter %v", e, tc.status, tc.code, tc.reason, tc.retryAfter)
			}
			if fmt.Sprint(e.Fields) != fmt.Sprint(tc.fields) {
				t.Errorf("Fields %v, want %v", e.Fields, tc.fields)
			}
			if tc.code != "" {
				if want := "Something about " + tc.code + "."; e.Detail != want {
					t.Errorf("Detail %q, want %q", e.Detail, want)
				}
				if e.Type != "https://order-intake.example/problems/"+tc.code || e.Title != "Title of "+tc.code {
					t.Errorf("Type %q, Title %q", e.Type, e.Title)
				}
			}
			msg := err.Error()
			if strings.ContainsAny(msg, "\r\n") || !strings.Contains(msg, fmt.Sprint(tc.status)) || !strings.Contains(msg, tc.code) {
				t.Errorf("message %q: want one line with the status and the code", msg)
			}
			for name := range tc.fields {
				if !strings.Contains(msg, name) {
					t.Errorf("message %q does not name the bad field %s", msg, name)
				}
			}
		})
	}
}

// Answers that may change are retried under the same key.
func TestTransientAnswersAreRetried(t *testing.T) {
	t.Parallel()
	// HTTP dates have whole seconds: the fake clock starts on one.
	base := time.Now().Truncate(time.Second)
	httpDate := func(d time.Duration) string { return base.Add(d).UTC().Format(http.TimeFormat) }
	for _, tc := range []struct {
		name     string
		step     step
		wantWait time.Duration // the first backoff bound, or the Retry-After
	}{
		{"network error", hangUp, 250 * time.Millisecond},
		{"409 in_progress", problem(409, "in_progress", `,"retryAfter":3`, "Retry-After", "3"), 3 * time.Second},
		{"409 in_progress, retryAfter only in the body", problem(409, "in_progress", `,"retryAfter":4`), 4 * time.Second},
		{"429", answer(429, `{"error":"rate_limited","message":"Slow down."}`), 250 * time.Millisecond},
		{"429 with an HTTP date", answer(429, "", "Retry-After", httpDate(7*time.Second)), 7 * time.Second},
		{"500 internal_error", problem(500, "internal_error", ""), 250 * time.Millisecond},
		{"500 HTML page", answer(500, "<html>oops</html>", "Content-Type", "text/html"), 250 * time.Millisecond},
		{"500 workerd's plain text", answer(500, "Error: The Workers runtime canceled this request because it detected that your Worker's code had hung", "Content-Type", "text/plain;charset=UTF-8"), 250 * time.Millisecond},
		{"502 placement_failed", problem(502, "placement_failed", ""), 250 * time.Millisecond},
		{"502 HTML page", answer(502, "<html><body>502 Bad Gateway</body></html>", "Content-Type", "text/html"), 250 * time.Millisecond},
		{"503 storage_unavailable", problem(503, "storage_unavailable", `,"retryAfter":1`, "Retry-After", "1"), time.Second},
		{"503 empty", answer(503, ""), 250 * time.Millisecond},
		{"504", answer(504, "upstream timed out", "Content-Type", "text/plain"), 250 * time.Millisecond},
		{"Retry-After shorter than the backoff", problem(503, "storage_unavailable", "", "Retry-After", "0"), 250 * time.Millisecond},
		{"Retry-After in the past", answer(503, "", "Retry-After", httpDate(-time.Hour)), 250 * time.Millisecond},
		{"Retry-After unreadable", answer(503, "", "Retry-After", "soon"), 250 * time.Millisecond},
		{"Retry-After negative", answer(503, "", "Retry-After", "-5"), 250 * time.Millisecond},
		{"Retry-After above MaxBackoff", problem(409, "in_progress", "", "Retry-After", "30"), 30 * time.Second},
		{"Retry-After at MaxRetryAfter", problem(409, "in_progress", "", "Retry-After", "60"), MaxRetryAfter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeWorker(t, tc.step, created)
			c, ft := newClient(f)
			ft.now = base
			rc, err := c.Submit(context.Background(), "k", msft)
			if err != nil {
				t.Fatal(err)
			}
			if rc != wantReceipt {
				t.Errorf("receipt %+v", rc)
			}
			reqs := f.requests()
			if len(reqs) != 2 || reqs[1].header.Get("Idempotency-Key") != "k" {
				t.Errorf("%d attempts, want 2 under key k", len(reqs))
			}
			if w := ft.waits(); len(w) != 1 || w[0] != tc.wantWait {
				t.Errorf("waits %v, want [%v]", w, tc.wantWait)
			}
		})
	}
}

// Giving up after MaxAttempts returns the last answer, after the exact
// backoff waits (the largest draws here).
func TestMaxAttempts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		maxAttempts int
		wantWaits   []time.Duration
	}{
		{"default", 0, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second}},
		{"negative is the default", -1, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second}},
		{"one", 1, nil},
		{"three", 3, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond}},
		{"ten: the cap", 10, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
			4 * time.Second, 8 * time.Second, MaxBackoff, MaxBackoff, MaxBackoff}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeWorker(t, problem(500, "internal_error", ""), problem(503, "storage_unavailable", ""))
			c, ft := newClient(f)
			c.MaxAttempts = tc.maxAttempts
			_, err := c.Submit(context.Background(), "k", msft)
			attempts := len(tc.wantWaits) + 1
			if n := len(f.requests()); n != attempts {
				t.Errorf("%d attempts, want %d", n, attempts)
			}
			if w := ft.waits(); !equalWaits(w, tc.wantWaits) {
				t.Errorf("waits %v, want %v", w, tc.wantWaits)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T), want an *Error", err, err)
			}
			wantStatus, wantCode := 503, "storage_unavailable"
			if attempts == 1 {
				wantStatus, wantCode = 500, "internal_error"
			}
			if e.Status != wantStatus || e.Code != wantCode || e.Attempts != attempts {
				t.Errorf("Error %+v, want the last answer, %d %s after %d attempts", e, wantStatus, wantCode, attempts)
			}
			if attempts > 1 && !strings.Contains(err.Error(), fmt.Sprintf("after %d attempts", attempts)) {
				t.Errorf("message %q does not say how many attempts were made", err)
			}
		})
	}
}

// No answer at all, every time: the last network error, which is no *Error.
func TestNetworkErrorsOnly(t *testing.T) {
	t.Parallel()
	f := newFakeWorker(t, hangUp)
	c, ft := newClient(f)
	c.MaxAttempts = 3
	_, err := c.Submit(context.Background(), "k", msft)
	if err == nil {
		t.Fatal("no error")
	}
	var e *Error
	if errors.As(err, &e) {
		t.Errorf("error %v is an *Error; no answer came", err)
	}
	if n := len(f.requests()); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
	if len(ft.waits()) != 2 {
		t.Errorf("waits %v, want 2", ft.waits())
	}
	if msg := err.Error(); !strings.Contains(msg, "3 attempt") || !strings.Contains(msg, "EOF") {
		t.Errorf("message %q: want the attempts and the network error", msg)
	}
}

// An answer before a network error stays reachable with errors.As.
func TestLastAnswerSurvivesALaterNetworkError(t *testing.T) {
	t.Parallel()
	f := newFakeWorker(t, problem(503, "storage_unavailable", ""), hangUp)
	c, _ := newClient(f)
	c.MaxAttempts = 2
	_, err := c.Submit(context.Background(), "k", msft)
	var e *Error
	if !errors.As(err, &e) || e.Code != "storage_unavailable" {
		t.Errorf("error %v: want the 503 reachable as an *Error", err)
	}
}

// The deadline comes before the worker's Retry-After ends: Submit returns
// at once instead of sleeping past it.
func TestDeadlineShorterThanRetryAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		steps     []step
		deadline  time.Duration // after the fake clock's start
		wantWaits []time.Duration
		wantCode  string
	}{
		{"the first wait", []step{problem(409, "in_progress", "", "Retry-After", "20")}, 15 * time.Second, nil, "in_progress"},
		{"a later wait", []step{
			problem(503, "storage_unavailable", "", "Retry-After", "10"),
			problem(409, "in_progress", "", "Retry-After", "20"),
		}, 25 * time.Second, []time.Duration{10 * time.Second}, "in_progress"},
		{"a Retry-After beyond MaxRetryAfter", []step{problem(429, "rate_limited", "", "Retry-After", "120")}, 30 * time.Second, nil, "rate_limited"},
		{"the backoff", []step{problem(503, "storage_unavailable", ""), problem(503, "storage_unavailable", "")}, 600 * time.Millisecond,
			[]time.Duration{250 * time.Millisecond}, "storage_unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeWorker(t, append(tc.steps, created)...)
			c, ft := newClient(f)
			start := ft.now
			ctx, cancel := context.WithDeadline(context.Background(), start.Add(tc.deadline))
			defer cancel()
			_, err := c.Submit(ctx, "k", msft)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v: want errors.Is(err, context.DeadlineExceeded)", err)
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.wantCode {
				t.Errorf("error %v: want the last answer, %s, as an *Error", err, tc.wantCode)
			}
			waits := ft.waits()
			if !equalWaits(waits, tc.wantWaits) {
				t.Errorf("waits %v, want %v", waits, tc.wantWaits)
			}
			var slept time.Duration
			for _, w := range waits {
				slept += w
			}
			if slept > tc.deadline {
				t.Errorf("slept %v, past the deadline %v", slept, tc.deadline)
			}
			if n := len(f.requests()); n != len(tc.steps) {
				t.Errorf("%d attempts, want %d", n, len(tc.steps))
			}
			if ctx.Err() != nil {
				t.Error("the test took long enough in real time for the real deadline to pass")
			}
		})
	}
}

// A Retry-After beyond MaxRetryAfter is not waited for, nor cut short: the
// answer goes back to the caller, with when to retry.
func TestRetryAfterBeyondMaxRetryAfter(t *testing.T) {
	t.Parallel()
	f := newFakeWorker(t, problem(429, "rate_limited", "", "Retry-After", "3600"), created)
	c, ft := newClient(f)
	_, err := c.Submit(context.Background(), "k", msft)
	var e *Error
	if !errors.As(err, &e) || e.Status != 429 || e.RetryAfter != time.Hour {
		t.Fatalf("error %v: want the 429 with RetryAfter 1h", err)
	}
	if n := len(f.requests()); n != 1 || len(ft.waits()) != 0 {
		t.Errorf("%d attempts, waits %v; want 1 attempt, no wait", n, ft.waits())
	}
	if !strings.Contains(err.Error(), "1h0m0s") {
		t.Errorf("message %q does not say how long the worker asked for", err)
	}
}

// The context ends while an attempt is in flight, or before the first.
func TestContextEnds(t *testing.T) {
	t.Parallel()
	t.Run("during an attempt", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		f := newFakeWorker(t, func(w http.ResponseWriter, r *http.Request) {
			cancel()
			<-r.Context().Done()
		})
		c, ft := newClient(f)
		_, err := c.Submit(ctx, "k", msft)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v: want context.Canceled", err)
		}
		if n := len(f.requests()); n != 1 || len(ft.waits()) != 0 {
			t.Errorf("%d attempts, waits %v; want 1, none", n, ft.waits())
		}
	})
	t.Run("while waiting", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		f := newFakeWorker(t, problem(503, "storage_unavailable", ""), created)
		c, _ := newClient(f)
		c.sleep = func(ctx context.Context, d time.Duration) error {
			cancel()
			return ctx.Err()
		}
		_, err := c.Submit(ctx, "k", msft)
		var e *Error
		if !errors.Is(err, context.Canceled) || !errors.As(err, &e) || e.Status != 503 {
			t.Errorf("error %v: want context.Canceled and the 503", err)
		}
		if n := len(f.requests()); n != 1 {
			t.Errorf("%d attempts, want 1", n)
		}
	})
	t.Run("before the first attempt", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		f := newFakeWorker(t, created)
		c, _ := newClient(f)
		if _, err := c.Submit(ctx, "k", msft); !errors.Is(err, context.Canceled) {
			t.Errorf("error %v: want context.Canceled", err)
		}
		if n := len(f.requests()); n != 0 {
			t.Errorf("%d attempts, want none", n)
		}
	})
}

// 201, 202 (queue mode) and 200 (a replay) all carry the receipt.
func TestReceipts(t *testing.T) {
	t.Parallel()
	queued := strings.Replace(receiptBody, `"accepted"`, `"queued"`, 1)
	wantQueued := wantReceipt
	wantQueued.Status = "queued"
	// docs/contract.md#the-receipt's type and timeInForce: decoded as encoding/json does with
	// the Receipt of the day (which may not have those fields yet).
	newer := strings.Replace(receiptBody, `,"acceptedAt"`, `,"type":"market","timeInForce":"day","acceptedAt"`, 1)
	var wantNewer order.Receipt
	if err := json.Unmarshal([]byte(newer), &wantNewer); err != nil || wantNewer.OrderID != wantReceipt.OrderID {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		step step
		want order.Receipt
	}{
		{"201 placed", created, wantReceipt},
		{"202 queued", answer(http.StatusAccepted, queued, "Location", "/orders/"+wantReceipt.OrderID), wantQueued},
		{"200 replay", answer(http.StatusOK, receiptBody, "Idempotent-Replay", "true"), wantReceipt},
		{"201 with newer members", answer(http.StatusCreated, newer), wantNewer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeWorker(t, tc.step)
			c, _ := newClient(f)
			rc, err := c.Submit(context.Background(), "k", msft)
			if err != nil {
				t.Fatal(err)
			}
			if rc != tc.want {
				t.Errorf("receipt %+v, want %+v", rc, tc.want)
			}
		})
	}
}

// A success whose body is not a receipt is an error that says so, and is
// not retried; neither is any other answer that is no JSON.
func TestUnreadableAnswers(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", maxBodyBytes+10)
	for _, tc := range []struct {
		name   string
		step   step
		status int
		want   []string // in the message
	}{
		{"201 not JSON", answer(201, "not json"), 201, []string{"201", "not a receipt", "invalid character"}},
		{"201 cut short", answer(201, `{"orderId":"x"`), 201, []string{"201", "not a receipt", "unexpected end"}},
		{"200 without an orderId", answer(200, `{"status":"ok"}`), 200, []string{"200", "no orderId"}},
		{"201 JSON array", answer(201, `[1]`), 201, []string{"201", "not a receipt"}},
		{"201 too large", answer(201, `{"orderId":"`+big+`"}`), 201, []string{"201", "larger than"}},
		{"204", answer(204, ""), 204, []string{"204 No Content"}},
		{"502 HTML, one attempt", answer(502, "<!DOCTYPE html>\n<html>\n<title>502 Bad Gateway</title>\n</html>", "Content-Type", "text/html; charset=utf-8"),
			502, []string{"502 Bad Gateway", "not JSON but text/html", "<!DOCTYPE html> <html>"}},
		{"400 JSON, not problem details", answer(400, `{"foo":1}`), 400, []string{"400 Bad Request", "JSON but not"}},
		{"400 JSON array", answer(400, `[]`), 400, []string{"400 Bad Request", "not JSON"}},
		{"413 huge page", answer(413, big, "Content-Type", "text/plain"), 413, []string{"413 Request Entity Too Large", "xxx…"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeWorker(t, tc.step, created)
			c, _ := newClient(f)
			c.MaxAttempts = 1
			_, err := c.Submit(context.Background(), "k", msft)
			var e *Error
			if !errors.As(err, &e) || e.Status != tc.status || e.Code != "" {
				t.Fatalf("error %v (%T): want an *Error with status %d and no code", err, err, tc.status)
			}
			msg := err.Error()
			for _, want := range tc.want {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
			if strings.ContainsAny(msg, "\r\n") || len(msg) > 600 {
				t.Errorf("message is not one short line: %q", msg)
			}
		})
	}
}

// The first version's errors have message, not detail.
func TestFirstVersionErrorBody(t *testing.T) {
	t.Parallel()
	f := newFakeWorker(t, answer(422, `{"error":"invalid_order","message":"The order has invalid fields; each is named in fields.","fields":{"side":"must be \"buy\" or \"sell\""}}`, "Content-Type", "application/json"))
	c, _ := newClient(f)
	_, err := c.Submit(context.Background(), "k", msft)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatal(err)
	}
	if e.Detail != "The order has invalid fields; each is named in fields." || e.Fields["side"] != `must be "buy" or "sell"` {
		t.Errorf("Error %+v", e)
	}
	want := `order intake: 422 invalid_order: The order has invalid fields; each is named in fields. [side: must be "buy" or "sell"]`
	if err.Error() != want {
		t.Errorf("message\n %s\nwant\n %s", err, want)
	}
}

// Mistakes of the caller fail before anything is sent.
func TestBadArguments(t *testing.T) {
	t.Parallel()
	f := newFakeWorker(t, created)
	for _, tc := range []struct {
		name, baseURL, key string
	}{
		{"no BaseURL", "", "k"},
		{"not http", "ftp://example.com", "k"},
		{"no host", "https://", "k"},
		{"unparsable", "http://[::1", "k"},
		{"key with a space", f.URL, "a b"},
		{"key with a newline", f.URL, "a\nb"},
		{"key not ASCII", f.URL, "ключ"},
		{"key too long", f.URL, strings.Repeat("k", 256)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ft := newClient(f)
			c.BaseURL = tc.baseURL
			if _, err := c.Submit(context.Background(), tc.key, msft); err == nil {
				t.Error("no error")
			}
			if len(ft.waits()) != 0 {
				t.Error("it waited")
			}
		})
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// The jittered wait stays within its bound, which doubles up to the cap.
func TestBackoff(t *testing.T) {
	t.Parallel()
	c := &Client{}
	for n, want := range map[int]time.Duration{1: 250 * time.Millisecond, 2: 500 * time.Millisecond, 3: time.Second,
		6: 8 * time.Second, 7: MaxBackoff, 16: MaxBackoff, 17: MaxBackoff, 1000: MaxBackoff} {
		var bound time.Duration
		c.jitter = func(b time.Duration) time.Duration { bound = b; return b }
		c.backoff(n, MaxBackoff)
		if bound != want {
			t.Errorf("retry %d: bound %v, want %v", n, bound, want)
		}
	}
	c.jitter = nil
	var sum time.Duration
	const draws = 2000
	for range draws {
		d := c.backoff(3, MaxBackoff)
		if d < 0 || d > time.Second {
			t.Fatalf("draw %v outside [0, 1s]", d)
		}
		sum += d
	}
	if mean := sum / draws; mean < 400*time.Millisecond || mean > 600*time.Millisecond {
		t.Errorf("mean of %d draws in [0, 1s] is %v: not uniform", draws, mean)
	}
}

// The real sleep: it returns at once once the context has ended.
func TestSleep(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("sleep on an ended context: %v", err)
	}
	if err := sleep(context.Background(), 0); err != nil {
		t.Errorf("sleep 0: %v", err)
	}
	if err := sleep(context.Background(), time.Microsecond); err != nil {
		t.Errorf("sleep 1µs: %v", err)
	}
}

// A receipt cut off in transfer is as good as no answer: retried.
func TestReceiptCutOffIsRetried(t *testing.T) {
	t.Parallel()
	f := newFakeWorker(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(len(receiptBody)))
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, receiptBody[:20]) // the server closes the connection short of the length
	}, created)
	c, ft := newClient(f)
	rc, err := c.Submit(context.Background(), "k", msft)
	if err != nil || rc != wantReceipt {
		t.Fatalf("Submit: %+v, %v", rc, err)
	}
	if n, w := len(f.requests()), ft.waits(); n != 2 || len(w) != 1 {
		t.Errorf("%d attempts, waits %v; want 2 attempts, one wait", n, w)
	}
}

// A certificate that does not verify will not verify on a retry either.
func TestCertificateErrorIsNotRetried(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(created))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshake, expected
	srv.StartTLS()
	defer srv.Close()
	ft := &fakeTime{now: time.Now()}
	c := ft.install(&Client{BaseURL: srv.URL}) // http.DefaultClient does not trust the test certificate
	_, err := c.Submit(context.Background(), "k", msft)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("error %v, want the certificate error", err)
	}
	if w := ft.waits(); len(w) != 0 {
		t.Errorf("waits %v: it retried", w)
	}
}
