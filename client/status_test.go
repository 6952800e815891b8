package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/orderintake/edge/order"
)

const queuedID = "154696e6-4b98-5e11-a66d-ef5eaf57526d"

// statusDoc is a step that answers queuedID's status document, as
// docs/queue-mode.md#what-the-client-sees has it, with extra members.
func statusDoc(status, extra string) step {
	return answer(http.StatusOK, fmt.Sprintf(`{"orderId":%q,"status":%q,"symbol":"MSFT","side":"buy","quantity":100,`+
		`"type":"market","timeInForce":"day","acceptedAt":"2026-12-01T23:56:21.116Z"%s}`, queuedID, status, extra))
}

var (
	queuedDoc   = statusDoc("queued", "")
	placedDoc   = statusDoc("placed", `,"placedAt":"2026-12-01T23:56:22.155Z"`)
	rejectedDoc = statusDoc("rejected", `,"reason":"market closed for MSFT"`)
	failedDoc   = statusDoc("failed", `,"reason":"no definitive answer in 4 attempts"`)
)

// wantStatus is queuedID's document with status, placedAt and reason.
func wantStatus(status, placedAt, reason string) OrderStatus {
	return OrderStatus{Receipt: order.Receipt{OrderID: queuedID, Status: status, Symbol: "MSFT", Side: "buy", Quantity: 100,
		Type: "market", TimeInForce: "day", AcceptedAt: "2026-12-01T23:56:21.116Z"}, PlacedAt: placedAt, Reason: reason}
}

// wantReads checks a read's outcome: its status, its waits, and one
// request more than waits.
func wantReads(t *testing.T, f *fakeWorker, ft *fakeTime, st, want OrderStatus, wantWaits []time.Duration) {
	t.Helper()
	if st != want {
		t.Errorf("status\n %+v\nwant\n %+v", st, want)
	}
	if w := ft.waits(); !equalWaits(w, wantWaits) {
		t.Errorf("waits %v, want %v", w, wantWaits)
	}
	if n := len(f.requests()); n != len(wantWaits)+1 {
		t.Errorf("%d requests, want %d", n, len(wantWaits)+1)
	}
}

// Wait reads until the status is final, and a final status is an answer
// whatever it is. Each wait is the largest draw: 250 ms, then doubling, up
// to MaxPollInterval, or Retry-After when it asks for longer.
func TestWait(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	for _, tc := range []struct {
		name      string
		steps     []step
		want      OrderStatus
		wantWaits []time.Duration
	}{
		{"queued, queued, placed", []step{queuedDoc, queuedDoc, placedDoc},
			wantStatus("placed", "2026-12-01T23:56:22.155Z", ""), []time.Duration{250 * ms, 500 * ms}},
		{"placed at once", []step{placedDoc}, wantStatus("placed", "2026-12-01T23:56:22.155Z", ""), nil},
		{"rejected with its reason", []step{queuedDoc, rejectedDoc},
			wantStatus("rejected", "", "market closed for MSFT"), []time.Duration{250 * ms}},
		{"failed with its reason", []step{queuedDoc, failedDoc},
			wantStatus("failed", "", "no definitive answer in 4 attempts"), []time.Duration{250 * ms}},
		{"a 503 with Retry-After in between", []step{queuedDoc,
			problem(http.StatusServiceUnavailable, "storage_unavailable", `,"retryAfter":2`, "Retry-After", "2"), placedDoc},
			wantStatus("placed", "2026-12-01T23:56:22.155Z", ""), []time.Duration{250 * ms, 2 * time.Second}},
		{"no answer, then a 500 page, then placed", []step{hangUp,
			answer(http.StatusInternalServerError, "<html>oops</html>", "Content-Type", "text/html"), placedDoc},
			wantStatus("placed", "2026-12-01T23:56:22.155Z", ""), []time.Duration{250 * ms, 500 * ms}},
		{"the cap", []step{queuedDoc, queuedDoc, queuedDoc, queuedDoc, queuedDoc, queuedDoc, queuedDoc, queuedDoc, placedDoc},
			wantStatus("placed", "2026-12-01T23:56:22.155Z", ""),
			[]time.Duration{250 * ms, 500 * ms, time.Second, 2 * time.Second, 4 * time.Second, MaxPollInterval, MaxPollInterval, MaxPollInterval}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeWorker(t, tc.steps...)
			c, ft := newClient(f)
			c.Token = "s3cr3t"
			st, err := c.Wait(context.Background(), queuedID)
			if err != nil {
				t.Fatalf("Wait: %v", err)
			}
			wantReads(t, f, ft, st, tc.want, tc.wantWaits)
			for _, r := range f.requests() {
				if r.method != http.MethodGet || r.path != "/orders/"+queuedID || r.body != "" ||
					r.header.Get("Authorization") != "Bearer s3cr3t" || r.header.Get("Accept") != "application/json" {
					t.Errorf("sent %s %s %q with %v, want GET /orders/%s with the token", r.method, r.path, r.body, r.header, queuedID)
				}
			}
		})
	}
}

// Status is one read, retried as Submit's POST is; what is not a status is
// an *Error, not retried.
func TestStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		steps      []step
		want       OrderStatus
		wantWaits  []time.Duration
		wantStatus int    // of the *Error; 0: no error
		wantCode   string // of the *Error
		wantMsg    string // in the message
	}{
		{"queued", []step{queuedDoc}, wantStatus("queued", "", ""), nil, 0, "", ""},
		{"placed", []step{placedDoc}, wantStatus("placed", "2026-12-01T23:56:22.155Z", ""), nil, 0, "", ""},
		{"a 503 with Retry-After, then queued", []step{
			problem(http.StatusServiceUnavailable, "storage_unavailable", `,"retryAfter":1`, "Retry-After", "1"), queuedDoc},
			wantStatus("queued", "", ""), []time.Duration{time.Second}, 0, "", ""},
		{"a 429, then rejected", []step{answer(http.StatusTooManyRequests, ""), rejectedDoc},
			wantStatus("rejected", "", "market closed for MSFT"), []time.Duration{250 * time.Millisecond}, 0, "", ""},
		{"404", []step{problem(http.StatusNotFound, "not_found", ""), placedDoc}, OrderStatus{}, nil, 404, "not_found", "404 not_found"},
		{"401", []step{problem(http.StatusUnauthorized, "unauthorized", "", "WWW-Authenticate", "Bearer"), placedDoc},
			OrderStatus{}, nil, 401, "unauthorized", "401 unauthorized"},
		{"500 misconfigured", []step{problem(http.StatusInternalServerError, "misconfigured", ""), placedDoc},
			OrderStatus{}, nil, 500, "misconfigured", "500 misconfigured"},
		{"another order's status", []step{answer(http.StatusOK, strings.Replace(`{"orderId":"X","status":"placed"}`, "X", "0b7e4a6e-5c55-5d8e-9d1f-7d4f6c1b2a3e", 1)), placedDoc},
			OrderStatus{}, nil, 200, "", "not the status of order " + queuedID},
		{"no status", []step{answer(http.StatusOK, fmt.Sprintf(`{"orderId":%q}`, queuedID)), placedDoc},
			OrderStatus{}, nil, 200, "", "it has no status"},
		{"not JSON", []step{answer(http.StatusOK, "<html>hello</html>", "Content-Type", "text/html"), placedDoc},
			OrderStatus{}, nil, 200, "", "not an order's status"},
		{"204", []step{answer(http.StatusNoContent, ""), placedDoc}, OrderStatus{}, nil, 204, "", "204 No Content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeWorker(t, tc.steps...)
			c, ft := newClient(f)
			st, err := c.Status(context.Background(), queuedID)
			wantReads(t, f, ft, st, tc.want, tc.wantWaits)
			if tc.wantStatus == 0 {
				if err != nil {
					t.Fatalf("Status: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != tc.wantStatus || e.Code != tc.wantCode {
				t.Fatalf("error %v (%T), want an *Error with status %d and code %q", err, err, tc.wantStatus, tc.wantCode)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.wantMsg) || strings.ContainsAny(msg, "\r\n") {
				t.Errorf("message %q: want one line with %q", msg, tc.wantMsg)
			}
		})
	}
}

// Status gives up after MaxAttempts, as Submit does.
func TestStatusMaxAttempts(t *testing.T) {
	t.Parallel()
	f := newFakeWorker(t, problem(http.StatusServiceUnavailable, "storage_unavailable", ""))
	c, ft := newClient(f)
	c.MaxAttempts = 3
	_, err := c.Status(context.Background(), queuedID)
	var e *Error
	if !errors.As(err, &e) || e.Code != "storage_unavailable" || e.Attempts != 3 {
		t.Errorf("error %v, want the 503 after 3 attempts", err)
	}
	if n, w := len(f.requests()), ft.waits(); n != 3 || !equalWaits(w, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond}) {
		t.Errorf("%d requests, waits %v; want 3, [250ms 500ms]", n, w)
	}
}

// An answer that will not change ends Wait with Status's error and the last
// status read.
func TestWaitEndsOnAFinalError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		steps []step
		want  OrderStatus
	}{
		{"404 at once", []step{problem(http.StatusNotFound, "not_found", "")}, OrderStatus{}},
		{"404 after queued", []step{queuedDoc, problem(http.StatusNotFound, "not_found", "")}, wantStatus("queued", "", "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeWorker(t, append(tc.steps, placedDoc)...)
			c, _ := newClient(f)
			st, err := c.Wait(context.Background(), queuedID)
			var e *Error
			if !errors.As(err, &e) || e.Status != http.StatusNotFound || e.Code != "not_found" {
				t.Errorf("error %v, want the 404 not_found as an *Error", err)
			}
			if st != tc.want {
				t.Errorf("status %+v, want %+v", st, tc.want)
			}
			if n := len(f.requests()); n != len(tc.steps) {
				t.Errorf("%d requests, want %d", n, len(tc.steps))
			}
		})
	}
}

// At the deadline Wait returns at once, without waiting past it, the last
// status it read and an error wrapping context.DeadlineExceeded.
func TestWaitDeadline(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	for _, tc := range []struct {
		name      string
		steps     []step
		deadline  time.Duration // after the fake clock's start
		want      OrderStatus
		wantWaits []time.Duration
		wantError int // the status of the *Error the error wraps; 0: none
	}{
		// 250 + 500 + 1000 ms, and the next 2 s would end at 3.75 s.
		{"queued all along", []step{queuedDoc}, 3 * time.Second, wantStatus("queued", "", ""),
			[]time.Duration{250 * ms, 500 * ms, time.Second}, 0},
		{"a Retry-After past the deadline", []step{queuedDoc, problem(http.StatusServiceUnavailable, "storage_unavailable", "", "Retry-After", "30")},
			10 * time.Second, wantStatus("queued", "", ""), []time.Duration{250 * ms}, http.StatusServiceUnavailable},
		{"no status read", []step{answer(http.StatusBadGateway, "")}, time.Second, OrderStatus{},
			[]time.Duration{250 * ms, 500 * ms}, http.StatusBadGateway},
		// A 503 read before the last queued status is no longer the news.
		{"an older 503", []step{problem(http.StatusServiceUnavailable, "storage_unavailable", ""), queuedDoc}, time.Second,
			wantStatus("queued", "", ""), []time.Duration{250 * ms, 500 * ms}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeWorker(t, tc.steps...)
			c, ft := newClient(f)
			ctx, cancel := context.WithDeadline(context.Background(), ft.now.Add(tc.deadline))
			defer cancel()
			st, err := c.Wait(ctx, queuedID)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v: want errors.Is(err, context.DeadlineExceeded)", err)
			}
			wantReads(t, f, ft, st, tc.want, tc.wantWaits)
			var e *Error
			if found := errors.As(err, &e); found != (tc.wantError != 0) || (found && e.Status != tc.wantError) {
				t.Errorf("error %v: want it to wrap an *Error with status %d (0: none)", err, tc.wantError)
			}
			if tc.wantError == 0 && !strings.Contains(err.Error(), `still "queued"`) {
				t.Errorf("message %q does not say the order is still queued", err)
			}
			if ctx.Err() != nil {
				t.Error("the test took long enough in real time for the real deadline to pass")
			}
		})
	}
}

// What cannot be an order id is refused before any request; what order
// derives is accepted.
func TestOrderID(t *testing.T) {
	t.Parallel()
	f := newFakeWorker(t, placedDoc)
	for _, id := range []string{"", "not-a-uuid", strings.ToUpper(queuedID), queuedID + "0", queuedID[:35],
		strings.ReplaceAll(queuedID, "-", ""), "{" + queuedID + "}", "urn:uuid:" + queuedID,
		"550e8400-e29b-41d4-a716-446655440000", // version 4
		"../" + queuedID[3:], queuedID[:35] + "\n", strings.Repeat("a", 2000)} {
		c, ft := newClient(f)
		for name, call := range map[string]func(context.Context, string) (OrderStatus, error){"Status": c.Status, "Wait": c.Wait} {
			_, err := call(context.Background(), id)
			if err == nil || !strings.Contains(err.Error(), "is not an order id") {
				t.Errorf("%s(%.40q): error %v, want one saying it is not an order id", name, id, err)
			} else if len(err.Error()) > 200 {
				t.Errorf("%s: message of %d bytes", name, len(err.Error()))
			}
		}
		if len(ft.waits()) != 0 {
			t.Errorf("%.40q: it waited", id)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
	for _, id := range []string{queuedID, order.OrderID("", "k", "f"), order.OrderID("acme", "another key", "fingerprint")} {
		if err := checkOrderID(id); err != nil {
			t.Errorf("checkOrderID(%q): %v", id, err)
		}
	}
}
