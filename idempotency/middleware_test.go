package idempotency_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/memory"
	"github.com/orderintake/edge/kvstore"
)

// The middleware in front of a handler that is not an order: a webhook
// receiver that takes deliveries keyed by a Webhook-Id header and
// acknowledges each. Its answers carry the run's number, so a replay (the
// first run's bytes) and a rerun cannot be mistaken.

// receiver is the webhook receiver.
type receiver struct {
	mu     sync.Mutex
	runs   int
	status int               // the answer's status; 0 means 200
	header map[string]string // set on every answer, besides its own
	final  *bool             // when set, SetFinal(w, *final)
	during func()            // runs while the handler holds the claim, once
	plain  bool              // answer text without a Content-Type
}

func (rv *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rv.mu.Lock()
	rv.runs++
	run, status, header, final, during, plain := rv.runs, cmp(rv.status, 200), rv.header, rv.final, rv.during, rv.plain
	rv.during = nil
	rv.mu.Unlock()
	if during != nil {
		during()
	}
	body, _ := io.ReadAll(r.Body)
	call, _ := idempotency.CallFrom(r.Context())
	for name, value := range header {
		w.Header().Set(name, value)
	}
	if !plain {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Location", "/deliveries/"+call.Key)
	w.Header().Set("X-Run", strconv.Itoa(run))
	http.SetCookie(w, &http.Cookie{Name: "session", Value: "s" + strconv.Itoa(run)})
	if final != nil {
		idempotency.SetFinal(w, *final)
	}
	w.WriteHeader(status)
	if status == http.StatusNoContent {
		return
	}
	if plain {
		fmt.Fprintf(w, "delivery %s run %d", call.Key, run)
		return
	}
	fmt.Fprintf(w, `{"delivery":%q,"run":%d,"bytes":%d,"scope":%q,"operation":%q}`, call.Key, run, len(body), call.Scope, call.Operation)
}

func (rv *receiver) ran() int {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return rv.runs
}

func cmp(v, otherwise int) int {
	if v == 0 {
		return otherwise
	}
	return v
}

// harness is the receiver behind the middleware, over a spy of a store.
type harness struct {
	t       *testing.T
	clock   *kvstore.Clock
	store   *spyStore
	engine  *idempotency.Engine
	recv    *receiver
	handler http.Handler
	keyName string
}

// newHarness puts the receiver behind the middleware configured by opts,
// over the in-memory store.
func newHarness(t *testing.T, opts idempotency.Options) *harness {
	clock := kvstore.NewClock(t0)
	return newHarnessOn(t, opts, clock, memory.New(clock.Now))
}

func newHarnessOn(t *testing.T, opts idempotency.Options, clock *kvstore.Clock, store idempotency.Store) *harness {
	h := &harness{t: t, clock: clock, store: newSpyStore(store), recv: &receiver{}, keyName: cmpString(opts.KeyHeader, "Idempotency-Key")}
	h.engine = &idempotency.Engine{Store: h.store, Lease: 30 * time.Second, Retention: 24 * time.Hour, Now: clock.Now}
	h.handler = idempotency.Middleware(h.engine, opts)(h.recv)
	return h
}

func cmpString(v, otherwise string) string {
	if v == "" {
		return otherwise
	}
	return v
}

// do sends a request through the middleware; headers come in name, value
// pairs.
func (h *harness) do(method, path, body string, headers ...string) *httptest.ResponseRecorder {
	h.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	return rec
}

// deliver posts a delivery to /webhooks under key ("" for none).
func (h *harness) deliver(key, body string, headers ...string) *httptest.ResponseRecorder {
	h.t.Helper()
	if key != "" {
		headers = append(headers, h.keyName, key)
	}
	return h.do(http.MethodPost, "/webhooks", body, headers...)
}

const delivery = `{"event":"invoice.paid","invoice":"in_1"}`

// problem is an error answer as a client reads it.
type problem struct {
	Type, Title, Detail, Error, Message string
	Status, RetryAfter                  int
}

// wantProblem checks an RFC 9457 answer: status, code, members, media type.
func wantProblem(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) problem {
	t.Helper()
	var p problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("%d %q is not problem details: %v", rec.Code, rec.Body.String(), err)
	}
	if rec.Code != status || p.Error != code {
		t.Fatalf("got %d %s, want %d %s", rec.Code, rec.Body.String(), status, code)
	}
	// The middleware's own words are generic: RFC 9457's about:blank, whose
	// title is the status's text.
	if p.Type != "about:blank" || p.Title != http.StatusText(status) || p.Status != status || p.Detail == "" || p.Message != p.Detail {
		t.Errorf("problem details %+v: want type about:blank, title %q, status %d, detail = message", p, http.StatusText(status), status)
	}
	if ct := rec.Header().Get("Content-Type"); ct != idempotency.ProblemContentType {
		t.Errorf("%d %s with Content-Type %q", rec.Code, code, ct)
	}
	return p
}

// wantRun checks that rec is the receiver's live answer of run n.
func wantRun(t *testing.T, rec *httptest.ResponseRecorder, status, run int) {
	t.Helper()
	if rec.Code != status || rec.Header().Get("X-Run") != strconv.Itoa(run) || rec.Header().Get("Idempotent-Replay") != "" {
		t.Fatalf("got %d (X-Run %q, Idempotent-Replay %q) %s; want the handler's live %d of run %d",
			rec.Code, rec.Header().Get("X-Run"), rec.Header().Get("Idempotent-Replay"), rec.Body.String(), status, run)
	}
}

// wantReplay checks that rec replays first: status, body byte for byte, the
// stored headers, the replay header, and none of the live-only headers.
func wantReplay(t *testing.T, rec, first *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code != first.Code || !bytes.Equal(rec.Body.Bytes(), first.Body.Bytes()) || rec.Header().Get("Idempotent-Replay") != "true" {
		t.Fatalf("got %d %q (Idempotent-Replay %q), want a replay of %d %q",
			rec.Code, rec.Body.String(), rec.Header().Get("Idempotent-Replay"), first.Code, first.Body.String())
	}
	for _, name := range []string{"Content-Type", "Location"} {
		if rec.Header().Get(name) != first.Header().Get(name) {
			t.Errorf("replayed %s %q, first answered %q", name, rec.Header().Get(name), first.Header().Get(name))
		}
	}
	for _, name := range []string{"Set-Cookie", "X-Run"} {
		if got := rec.Header().Get(name); got != "" {
			t.Errorf("replayed %s %q: not a stored header", name, got)
		}
	}
}

func TestExecutedThenReplayedByteForByte(t *testing.T) {
	t.Parallel()
	h := newHarness(t, idempotency.Options{KeyHeader: "Webhook-Id", Required: true})
	first := h.deliver("d-1", delivery)
	wantRun(t, first, 200, 1)
	if got := first.Header().Get("Set-Cookie"); got != "session=s1" {
		t.Errorf("live answer Set-Cookie %q: the handler's own headers go out live", got)
	}
	h.clock.Advance(23 * time.Hour)
	replay := h.deliver("d-1", delivery)
	wantReplay(t, replay, first)
	if replay.Header().Get("Cache-Control") != "no-store" || replay.Header().Get("Content-Length") != strconv.Itoa(first.Body.Len()) {
		t.Errorf("replay Cache-Control %q, Content-Length %q", replay.Header().Get("Cache-Control"), replay.Header().Get("Content-Length"))
	}
	if h.recv.ran() != 1 {
		t.Errorf("the receiver ran %d times, want once", h.recv.ran())
	}
	wantProblem(t, h.deliver("d-1", `{"event":"invoice.voided"}`), 422, "idempotency_key_reused")
}

func TestMethods(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		methods []string
		method  string
		covered bool
	}{
		{"POST by default", nil, http.MethodPost, true},
		{"PATCH by default", nil, http.MethodPatch, true},
		{"GET passes through", nil, http.MethodGet, false},
		{"PUT passes through by default", nil, http.MethodPut, false},
		{"DELETE passes through by default", nil, http.MethodDelete, false},
		{"PUT when listed", []string{http.MethodPut}, http.MethodPut, true},
		{"POST when not listed", []string{http.MethodPut}, http.MethodPost, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, idempotency.Options{Methods: tt.methods, Required: true})
			first := h.do(tt.method, "/webhooks", delivery, "Idempotency-Key", "d-1")
			second := h.do(tt.method, "/webhooks", delivery, "Idempotency-Key", "d-1")
			wantRun(t, first, 200, 1)
			if tt.covered {
				wantReplay(t, second, first)
				return
			}
			wantRun(t, second, 200, 2)
			if h.store.Calls("") != 0 {
				t.Errorf("a request passed through made %d store calls", h.store.Calls(""))
			}
			if !strings.Contains(second.Body.String(), `"operation":""`) {
				t.Errorf("a request passed through was handed a call: %s", second.Body.String())
			}
		})
	}
}

// The key: its header, whether it is required, its rules; a refusal touches
// no storage and runs nothing.
func TestKeyHeaderRequiredAndRules(t *testing.T) {
	t.Parallel()
	uuidOnly := func(key string) error {
		if len(key) != 36 || strings.Count(key, "-") != 4 {
			return errors.New("Webhook-Id must be a UUID")
		}
		return nil
	}
	tests := []struct {
		name     string
		opts     idempotency.Options
		headers  []string
		status   int
		code     string // "" when the handler answers
		idem     bool   // whether the handler's answer went through the engine
		contains string // in the problem's detail
	}{
		{"required and missing", idempotency.Options{KeyHeader: "Webhook-Id", Required: true}, nil, 400, "missing_idempotency_key", false, "Webhook-Id"},
		{"required and empty", idempotency.Options{KeyHeader: "Webhook-Id", Required: true}, []string{"Webhook-Id", ""}, 400, "missing_idempotency_key", false, ""},
		{"required, the default header sent instead", idempotency.Options{KeyHeader: "Webhook-Id", Required: true}, []string{"Idempotency-Key", "d-1"}, 400, "missing_idempotency_key", false, ""},
		{"optional and missing: passed through", idempotency.Options{KeyHeader: "Webhook-Id"}, nil, 200, "", false, ""},
		{"optional and present", idempotency.Options{KeyHeader: "Webhook-Id"}, []string{"Webhook-Id", "d-1"}, 200, "", true, ""},
		{"the header's name is case-insensitive", idempotency.Options{KeyHeader: "webhook-id", Required: true}, []string{"WEBHOOK-ID", "d-1"}, 200, "", true, ""},
		{"sent twice", idempotency.Options{KeyHeader: "Webhook-Id"}, []string{"Webhook-Id", "d-1", "Webhook-Id", "d-2"}, 400, "invalid_idempotency_key", false, "more than once"},
		{"a list", idempotency.Options{KeyHeader: "Webhook-Id"}, []string{"Webhook-Id", "d-1,d-2"}, 400, "invalid_idempotency_key", false, ""},
		{"too long", idempotency.Options{KeyHeader: "Webhook-Id"}, []string{"Webhook-Id", strings.Repeat("d", 256)}, 400, "invalid_idempotency_key", false, "255"},
		{"not visible ASCII", idempotency.Options{KeyHeader: "Webhook-Id"}, []string{"Webhook-Id", "dé"}, 400, "invalid_idempotency_key", false, ""},
		{"an RFC 8941 string", idempotency.Options{KeyHeader: "Webhook-Id"}, []string{"Webhook-Id", `"d-1"`}, 200, "", true, ""},
		{"ValidateKey refuses", idempotency.Options{ValidateKey: uuidOnly}, []string{"Idempotency-Key", "d-1"}, 400, "invalid_idempotency_key", false, "must be a UUID"},
		{"ValidateKey accepts", idempotency.Options{ValidateKey: uuidOnly}, []string{"Idempotency-Key", "5f0c1c0e-6f1b-4b0e-9c52-2f6f3c1a7d10"}, 200, "", true, ""},
		{"ValidateKey runs after the rules", idempotency.Options{ValidateKey: func(string) error { panic("ran") }}, []string{"Idempotency-Key", "a b"}, 400, "invalid_idempotency_key", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tt.opts)
			rec := h.do(http.MethodPost, "/webhooks", delivery, tt.headers...)
			if tt.code != "" {
				p := wantProblem(t, rec, tt.status, tt.code)
				if !strings.Contains(p.Detail, tt.contains) {
					t.Errorf("detail %q does not say %q", p.Detail, tt.contains)
				}
				if h.recv.ran() != 0 {
					t.Error("the handler ran for a refused request")
				}
			} else {
				wantRun(t, rec, tt.status, 1)
			}
			if used := h.store.Calls("") != 0; used != tt.idem {
				t.Errorf("store calls %d; want the store used: %v", h.store.Calls(""), tt.idem)
			}
		})
	}
}

func TestSkipPassesThroughUntouched(t *testing.T) {
	t.Parallel()
	h := newHarness(t, idempotency.Options{Required: true, Skip: func(r *http.Request) bool {
		return r.Header.Get("X-Redelivery-Test") != ""
	}})
	for run := 1; run <= 2; run++ {
		wantRun(t, h.do(http.MethodPost, "/webhooks", delivery, "X-Redelivery-Test", "1"), 200, run)
	}
	if h.store.Calls("") != 0 {
		t.Errorf("skipped requests made %d store calls", h.store.Calls(""))
	}
	first := h.deliver("d-1", delivery)
	wantReplay(t, h.deliver("d-1", delivery), first)
}

// Two scopes (two senders) and two operations (two routes sharing one
// store) never meet under the same key.
func TestScopeAndOperation(t *testing.T) {
	t.Parallel()
	bySender := func(r *http.Request) string { return r.Header.Get("X-Sender") }
	tests := []struct {
		name                  string
		opts                  idempotency.Options
		first, second         [2]string // method, path
		firstHdrs, secondHdrs []string
		replayed              bool
		reused                bool // the second is refused as a reused key
	}{
		{"same scope, same route", idempotency.Options{Scope: bySender},
			[2]string{"POST", "/webhooks"}, [2]string{"POST", "/webhooks"}, []string{"X-Sender", "stripe"}, []string{"X-Sender", "stripe"}, true, false},
		{"two scopes, one key", idempotency.Options{Scope: bySender},
			[2]string{"POST", "/webhooks"}, [2]string{"POST", "/webhooks"}, []string{"X-Sender", "stripe"}, []string{"X-Sender", "github"}, false, false},
		{"two routes by default", idempotency.Options{},
			[2]string{"POST", "/webhooks/stripe"}, [2]string{"POST", "/webhooks/github"}, nil, nil, false, false},
		{"two methods by default", idempotency.Options{},
			[2]string{"POST", "/webhooks"}, [2]string{"PATCH", "/webhooks"}, nil, nil, false, false},
		{"two routes under one Operation: the key is shared, and the other body is a reuse",
			idempotency.Options{Operation: func(*http.Request) string { return "webhooks" }},
			[2]string{"POST", "/webhooks/stripe"}, [2]string{"POST", "/webhooks/github"}, nil, nil, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tt.opts)
			first := h.do(tt.first[0], tt.first[1], delivery, append([]string{"Idempotency-Key", "d-1"}, tt.firstHdrs...)...)
			second := h.do(tt.second[0], tt.second[1], delivery, append([]string{"Idempotency-Key", "d-1"}, tt.secondHdrs...)...)
			wantRun(t, first, 200, 1)
			switch {
			case tt.replayed:
				wantReplay(t, second, first)
			case tt.reused:
				wantProblem(t, second, 422, "idempotency_key_reused")
			default:
				wantRun(t, second, 200, 2)
			}
		})
	}
}

func TestTheCallHandedToTheHandler(t *testing.T) {
	t.Parallel()
	h := newHarness(t, idempotency.Options{Scope: func(r *http.Request) string { return r.Header.Get("X-Sender") }})
	rec := h.do(http.MethodPost, "/webhooks/stripe", delivery, "Idempotency-Key", "d-1", "X-Sender", "stripe")
	want := fmt.Sprintf(`{"delivery":"d-1","run":1,"bytes":%d,"scope":"stripe","operation":"POST /webhooks/stripe"}`, len(delivery))
	if rec.Body.String() != want {
		t.Errorf("the handler saw %s, want %s", rec.Body.String(), want)
	}
	if _, ok := idempotency.CallFrom(context.Background()); ok {
		t.Error("CallFrom found a call outside the middleware")
	}
}

// readSpy is a request body that records whether it was read.
type readSpy struct {
	r    io.Reader
	read bool
}

func (b *readSpy) Read(p []byte) (int, error) {
	b.read = true
	return b.r.Read(p)
}

// The checks that need no storage refuse before any storage op: the headers
// before the body is read, the body's size, the fingerprint.
func TestRefusalsTouchNoStorage(t *testing.T) {
	t.Parallel()
	jsonOnly := func(r *http.Request) error {
		if r.Header.Get("Content-Type") != "application/json" {
			return &idempotency.Problem{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Detail: "Send JSON."}
		}
		return nil
	}
	// A fingerprint that validates and canonicalizes: the delivery's event
	// and invoice, whatever the spacing and member order.
	canonical := func(r *http.Request, body []byte) (string, error) {
		var d struct{ Event, Invoice string }
		if err := json.Unmarshal(body, &d); err != nil {
			return "", &idempotency.Problem{Status: http.StatusBadRequest, Code: "malformed_json", Detail: "The delivery is not JSON."}
		}
		if d.Event == "" {
			return "", errors.New("the delivery has no event")
		}
		return d.Event + " " + d.Invoice, nil
	}
	tests := []struct {
		name    string
		opts    idempotency.Options
		body    string
		headers []string
		status  int
		code    string
		read    bool // whether the body was read
	}{
		{"CheckHeaders refuses with its problem", idempotency.Options{CheckHeaders: jsonOnly}, delivery,
			[]string{"Content-Type", "text/plain"}, 415, "unsupported_media_type", false},
		{"CheckHeaders refuses with a plain error", idempotency.Options{CheckHeaders: func(*http.Request) error { return errors.New("no signature") }},
			delivery, nil, 400, "invalid_request", false},
		{"a missing key outranks CheckHeaders", idempotency.Options{Required: true, CheckHeaders: jsonOnly}, delivery,
			[]string{"Idempotency-Key", ""}, 400, "missing_idempotency_key", false},
		{"a body over MaxBodyBytes", idempotency.Options{MaxBodyBytes: 10}, "01234567890", nil, 413, "payload_too_large", true},
		{"a body over the default 1 MiB", idempotency.Options{}, strings.Repeat("x", 1<<20+1), nil, 413, "payload_too_large", true},
		{"Fingerprint refuses with its problem", idempotency.Options{Fingerprint: canonical}, "not json", nil, 400, "malformed_json", true},
		{"Fingerprint refuses with a plain error", idempotency.Options{Fingerprint: canonical}, `{"invoice":"in_1"}`, nil, 400, "invalid_request", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tt.opts)
			body := &readSpy{r: strings.NewReader(tt.body)}
			req := httptest.NewRequest(http.MethodPost, "/webhooks", body)
			req.Header.Set("Idempotency-Key", "d-1")
			for i := 0; i < len(tt.headers); i += 2 {
				req.Header.Set(tt.headers[i], tt.headers[i+1])
			}
			rec := httptest.NewRecorder()
			h.handler.ServeHTTP(rec, req)
			p := wantProblem(t, rec, tt.status, tt.code)
			if tt.code == "invalid_request" && !strings.Contains(p.Detail, "no") {
				t.Errorf("invalid_request detail %q does not carry the error", p.Detail)
			}
			if body.read != tt.read {
				t.Errorf("body read: %v, want %v", body.read, tt.read)
			}
			if h.store.Calls("") != 0 || h.recv.ran() != 0 {
				t.Errorf("a refusal made %d store calls and ran the handler %d times", h.store.Calls(""), h.recv.ran())
			}
		})
	}
}

func TestMaxBodyBytesIsInclusive(t *testing.T) {
	t.Parallel()
	h := newHarness(t, idempotency.Options{MaxBodyBytes: 10})
	rec := h.deliver("d-1", "0123456789")
	wantRun(t, rec, 200, 1)
	if !strings.Contains(rec.Body.String(), `"bytes":10`) {
		t.Errorf("the handler was handed %s, want the whole 10-byte body", rec.Body.String())
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	byEvent := func(r *http.Request, body []byte) (string, error) {
		var d struct{ Event, Invoice string }
		err := json.Unmarshal(body, &d)
		return d.Event + " " + d.Invoice, err
	}
	tests := []struct {
		name          string
		fingerprint   func(*http.Request, []byte) (string, error)
		first, second string
		replayed      bool
	}{
		{"default: the same body replays", nil, delivery, delivery, true},
		{"default: another body is a reused key", nil, delivery, delivery + " ", false},
		{"canonical: the same delivery spelled otherwise replays", byEvent, delivery, `{ "invoice": "in_1", "event": "invoice.paid" }`, true},
		{"canonical: another delivery is a reused key", byEvent, delivery, `{"event":"invoice.paid","invoice":"in_2"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, idempotency.Options{Fingerprint: tt.fingerprint})
			first := h.deliver("d-1", tt.first)
			if second := h.deliver("d-1", tt.second); tt.replayed {
				wantReplay(t, second, first)
			} else {
				wantProblem(t, second, 422, "idempotency_key_reused")
			}
		})
	}
}

func TestDefaultFingerprintIsMethodPathAndBody(t *testing.T) {
	t.Parallel()
	fp := func(method, path, body string) string {
		s, err := idempotency.DefaultFingerprint(httptest.NewRequest(method, path, nil), []byte(body))
		if err != nil || len(s) != 64 {
			t.Fatalf("DefaultFingerprint = %q, %v", s, err)
		}
		return s
	}
	base := fp("POST", "/webhooks", delivery)
	if base != fp("POST", "/webhooks?retry=2", delivery) {
		t.Error("the query changed the fingerprint")
	}
	for _, other := range []string{fp("PATCH", "/webhooks", delivery), fp("POST", "/webhooks/2", delivery), fp("POST", "/webhooks", delivery+" ")} {
		if other == base {
			t.Error("a different method, path or body fingerprints alike")
		}
	}
}

// Which of the handler's answers are final (stored and replayed) and which
// release the key so that a retry runs the handler again.
func TestFinalByDefault(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		final  bool
	}{
		{200, true}, {201, true}, {202, true}, {204, true},
		{400, true}, {403, true}, {404, true}, {410, true}, {422, true},
		{408, false}, {409, false}, {425, false}, {429, false},
		{500, false}, {502, false}, {503, false}, {504, false},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			t.Parallel()
			if got := idempotency.FinalStatus(tt.status); got != tt.final {
				t.Errorf("FinalStatus(%d) = %v, want %v", tt.status, got, tt.final)
			}
			h := newHarness(t, idempotency.Options{})
			h.recv.status = tt.status
			h.recv.header = map[string]string{"Retry-After": "7"}
			first := h.deliver("d-1", delivery)
			wantRun(t, first, tt.status, 1)
			if first.Header().Get("Retry-After") != "7" || first.Header().Get("Set-Cookie") == "" {
				t.Errorf("the live answer lost the handler's headers: %v", first.Header())
			}
			second := h.deliver("d-1", delivery)
			if tt.final {
				wantReplay(t, second, first)
				return
			}
			wantRun(t, second, tt.status, 2)
			if h.store.Calls("Release") != 2 || h.store.Calls("Complete") != 0 {
				t.Errorf("Release %d, Complete %d; want each retryable answer to release its claim and store nothing",
					h.store.Calls("Release"), h.store.Calls("Complete"))
			}
		})
	}
}

// A handler decides for one answer with SetFinal, either way, and through a
// ResponseWriter that wraps the middleware's.
func TestSetFinalOverridesTheDefault(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	tests := []struct {
		name   string
		status int
		final  *bool
		opts   idempotency.Options
		stored bool
	}{
		{"a 503 marked final", 503, &yes, idempotency.Options{}, true},
		{"a 200 marked retryable", 200, &no, idempotency.Options{}, false},
		{"a 422 marked retryable", 422, &no, idempotency.Options{}, false},
		{"Options.Final: only 2xx is final", 422, nil, idempotency.Options{Final: func(s int) bool { return s < 300 }}, false},
		{"Options.Final, overridden by SetFinal", 422, &yes, idempotency.Options{Final: func(s int) bool { return s < 300 }}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tt.opts)
			h.recv.status, h.recv.final = tt.status, tt.final
			first := h.deliver("d-1", delivery)
			wantRun(t, first, tt.status, 1)
			if second := h.deliver("d-1", delivery); tt.stored {
				wantReplay(t, second, first)
			} else {
				wantRun(t, second, tt.status, 2)
			}
		})
	}
}

// wrappingWriter is a middleware of the handler's own between ours and it.
type wrappingWriter struct{ http.ResponseWriter }

func (w wrappingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func TestSetFinalThroughAWrapper(t *testing.T) {
	t.Parallel()
	var runs counter
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.inc()
		idempotency.SetFinal(w, true)
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	wrapped := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { inner.ServeHTTP(wrappingWriter{w}, r) })
	e, _, _ := newEngine()
	h := idempotency.Middleware(e, idempotency.Options{})(wrapped)
	for range 2 {
		req := httptest.NewRequest(http.MethodPost, "/webhooks", strings.NewReader(delivery))
		req.Header.Set("Idempotency-Key", "d-1")
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	if runs.get() != 1 {
		t.Errorf("the handler ran %d times, want its 503 marked final through the wrapper", runs.get())
	}
	idempotency.SetFinal(httptest.NewRecorder(), true) // not the middleware's writer: does nothing
}

func TestReplayHeaderStatusAndStoredHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		opts         idempotency.Options
		status       int
		replayHeader string
		replayStatus int
		kept, gone   []string
	}{
		{"defaults", idempotency.Options{}, 201, "Idempotent-Replay", 201,
			[]string{"Content-Type", "Location"}, []string{"Set-Cookie", "X-Run", "X-Signature"}},
		{"another replay header", idempotency.Options{ReplayHeader: "X-Webhook-Replayed"}, 200, "X-Webhook-Replayed", 200,
			[]string{"Content-Type", "Location"}, []string{"Idempotent-Replay"}},
		{"ReplayStatus: a replayed 201 is a 200", idempotency.Options{ReplayStatus: func(s int) int {
			if s == 201 {
				return 200
			}
			return s
		}}, 201, "Idempotent-Replay", 200, nil, nil},
		{"StoredHeaders listed, Set-Cookie never", idempotency.Options{StoredHeaders: []string{"x-run", "X-Signature", "set-cookie", "Set-Cookie"}}, 200, "Idempotent-Replay", 200,
			[]string{"X-Run", "X-Signature"}, []string{"Set-Cookie", "Location"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tt.opts)
			h.recv.status = tt.status
			h.recv.header = map[string]string{"X-Signature": "sig"}
			first := h.deliver("d-1", delivery)
			if first.Header().Get(tt.replayHeader) != "" {
				t.Errorf("the first answer carries %s", tt.replayHeader)
			}
			replay := h.deliver("d-1", delivery)
			if replay.Code != tt.replayStatus || replay.Header().Get(tt.replayHeader) != "true" || replay.Body.String() != first.Body.String() {
				t.Fatalf("replay %d %s=%q %s, want %d %s=true and the first body", replay.Code, tt.replayHeader,
					replay.Header().Get(tt.replayHeader), replay.Body.String(), tt.replayStatus, tt.replayHeader)
			}
			for _, name := range tt.kept {
				if got := replay.Header().Get(name); got == "" || got != first.Header().Get(name) {
					t.Errorf("replayed %s %q, first answered %q", name, got, first.Header().Get(name))
				}
			}
			for _, name := range tt.gone {
				if got := replay.Header().Get(name); got != "" {
					t.Errorf("replayed %s %q, want it not kept", name, got)
				}
			}
		})
	}
}

// OnReplay sees each replay and OnConflict each 409 or 422 of the engine,
// with the outcome; neither sees anything else.
func TestHooksSeeTheirOutcomes(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	record := func(hook string) func(*http.Request, idempotency.Outcome) {
		return func(r *http.Request, o idempotency.Outcome) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, fmt.Sprintf("%s:%v:%d:%s", hook, o.Kind, o.Response.Status, r.Header.Get("Idempotency-Key")))
		}
	}
	h := newHarness(t, idempotency.Options{Required: true, OnReplay: record("replay"), OnConflict: record("conflict")})
	h.recv.during = func() { h.deliver("d-1", delivery) } // a retry while the first runs: 409
	h.deliver("d-1", delivery)                            // executed
	h.deliver("d-1", delivery)                            // replayed
	h.deliver("d-1", `{"event":"other"}`)                 // 422
	h.deliver("", delivery)                               // refused
	h.do(http.MethodGet, "/webhooks", "")                 // passed through
	want := "conflict:in flight:409:d-1 replay:replayed:200:d-1 conflict:key reused:422:d-1"
	if got := strings.Join(seen, " "); got != want {
		t.Errorf("hooks saw %q, want %q", got, want)
	}
}

// A retry while the handler runs gets 409 in_progress with a Retry-After
// that counts down to the lease's end, never below 1.
func TestInProgressCountsDown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		after      time.Duration
		retryAfter int
	}{{0, 30}, {400 * time.Millisecond, 30}, {12 * time.Second, 18}, {29*time.Second + 999*time.Millisecond, 1}}
	for _, tt := range tests {
		t.Run(tt.after.String(), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, idempotency.Options{KeyHeader: "Webhook-Id"})
			var retry, reused *httptest.ResponseRecorder
			h.recv.during = func() {
				h.clock.Advance(tt.after)
				retry = h.deliver("d-1", delivery)
				reused = h.deliver("d-1", `{"event":"other"}`)
			}
			wantRun(t, h.deliver("d-1", delivery), 200, 1)
			p := wantProblem(t, retry, 409, "in_progress")
			if retry.Header().Get("Retry-After") != strconv.Itoa(tt.retryAfter) || p.RetryAfter != tt.retryAfter {
				t.Errorf("Retry-After %q, retryAfter %d; want %d", retry.Header().Get("Retry-After"), p.RetryAfter, tt.retryAfter)
			}
			if !strings.Contains(p.Detail, "Webhook-Id") {
				t.Errorf("detail %q does not name the key header", p.Detail)
			}
			wantProblem(t, reused, 422, "idempotency_key_reused") // outranks 409
			if h.recv.ran() != 1 {
				t.Errorf("the handler ran %d times", h.recv.ran())
			}
		})
	}
}

// A handler that sets no Content-Type: its replay says what net/http sends
// live (the type sniffed from the body; none without a body), never
// application/json.
func TestAReplaySaysTheContentTypeSentLive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		status      int
		contentType string
	}{
		{"a text body", 200, "text/plain; charset=utf-8"},
		{"no body", 204, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, idempotency.Options{})
			h.recv.plain, h.recv.status = true, tt.status
			first := h.deliver("d-1", delivery)
			replay := h.deliver("d-1", delivery)
			wantReplay(t, replay, first)
			if live := first.Header().Get("Content-Type"); live != tt.contentType || replay.Header().Get("Content-Type") != live {
				t.Errorf("live Content-Type %q, replayed %q; want both %q", live, replay.Header().Get("Content-Type"), tt.contentType)
			}
		})
	}
}

// The handler's first status is its answer, as net/http and httptest keep
// it; a Write before any WriteHeader is a 200.
func TestTheHandlersFirstStatusIsItsAnswer(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		serve http.HandlerFunc
		want  int
	}{
		{"two WriteHeaders", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusCreated)
			w.WriteHeader(http.StatusInternalServerError)
		}, http.StatusCreated},
		{"a Write, then a WriteHeader", func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, "ok")
			w.WriteHeader(http.StatusInternalServerError)
		}, http.StatusOK},
		{"nothing written", func(http.ResponseWriter, *http.Request) {}, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := kvstore.NewClock(t0)
			e := &idempotency.Engine{Store: memory.New(clock.Now), Now: clock.Now}
			h := idempotency.Middleware(e, idempotency.Options{})(tt.serve)
			direct := httptest.NewRecorder()
			tt.serve(direct, httptest.NewRequest(http.MethodPost, "/", nil))
			for i, what := range []string{"live", "replayed"} {
				req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(delivery))
				req.Header.Set("Idempotency-Key", "k")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != tt.want || rec.Code != direct.Code || (i == 1) != (rec.Header().Get("Idempotent-Replay") == "true") {
					t.Errorf("%s: %d (replay %q), want %d as httptest has it", what, rec.Code, rec.Header().Get("Idempotent-Replay"), direct.Code)
				}
			}
		})
	}
}

// errReader fails every read, as a body whose connection broke.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// A body that cannot be read is refused in the engine's own words, before
// any storage is touched.
func TestAnUnreadableBodyIsRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, idempotency.Options{})
	req := httptest.NewRequest(http.MethodPost, "/webhooks", errReader{})
	req.Header.Set("Idempotency-Key", "d-1")
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	wantProblem(t, rec, http.StatusBadRequest, "unreadable_body")
	if h.store.Calls("") != 0 || h.recv.ran() != 0 {
		t.Errorf("%d store calls, %d runs; want none", h.store.Calls(""), h.recv.ran())
	}
}
