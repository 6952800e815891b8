//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/intake"
	"github.com/orderintake/edge/internal/testservers"
	"github.com/orderintake/edge/order"
	"github.com/orderintake/edge/scripts/internal/devserver"
)

// worker is one wrangler dev instance, started by the first test that needs
// it and stopped by TestMain: each start costs seconds, so tests share them.
type worker struct {
	name string
	opts devserver.Options
	// gateway places its orders through the stand-in order gateway: its
	// PLACEMENT_URL is known only once the stand-in listens.
	gateway bool
	once    sync.Once
	srv     *devserver.Server
	err     error
	// traffic is held shared by requests and exclusively by wrangler's own
	// KV commands: local KV is SQLite, and a command writing it while the
	// worker writes makes the worker's write fail (SQLITE_BUSY, a 503).
	traffic sync.RWMutex
}

var (
	// defaultWorker runs wrangler.toml as it is.
	defaultWorker = &worker{name: "default"}
	// leaseWorker has a 2-second lease, below KV's 60-second TTL floor, and
	// no local result cache: its tests delete results behind its back.
	leaseWorker = &worker{name: "lease", opts: devserver.Options{Vars: map[string]string{
		"PENDING_LEASE_SECONDS": "2", "RESULT_CACHE_ENTRIES": "0"}}}
	// cacheWorker keeps results for 60 s, the shortest KV allows, with its
	// local result cache on (as by default).
	cacheWorker = &worker{name: "cache", opts: devserver.Options{Vars: map[string]string{"RESULT_TTL_SECONDS": "60"}}}
	// misconfiguredWorker keeps results for 59 s, which KV would refuse.
	misconfiguredWorker = &worker{name: "misconfigured", opts: devserver.Options{Vars: map[string]string{"RESULT_TTL_SECONDS": "59"}}}
	// authWorker knows two clients (docs/contract.md#client-scoping).
	authWorker = &worker{name: "auth", opts: devserver.Options{Vars: map[string]string{"CLIENT_TOKENS": clientTokens()}}}
	// strictWorker keeps its records in a local D1 (wrangler.toml [env.strict]).
	// The test-scheduled route (GET /__scheduled) fires its cron cleanup.
	strictWorker = &worker{name: "strict", opts: devserver.StrictMode(devserver.Options{Args: []string{"--test-scheduled"}})}
	// faultsWorker is the build with fault-injection routes (isolate/faults.go).
	faultsWorker = &worker{name: "faults", opts: devserver.Options{Faults: true}}
	// gatewayWorker places orders through the stand-in (docs/downstreams.md#the-order-gateway), with a
	// short timeout so that a hang costs the suite three seconds.
	gatewayWorker = &worker{name: "gateway", gateway: true, opts: devserver.Options{Vars: map[string]string{
		"PLACEMENT_TOKEN": gatewayToken, "PLACEMENT_TIMEOUT_MS": "3000"}}}
	// strictGatewayWorker is strict mode through the stand-in.
	strictGatewayWorker = &worker{name: "strict-gateway", gateway: true, opts: devserver.StrictMode(devserver.Options{
		Vars: map[string]string{"PLACEMENT_TOKEN": gatewayToken}})}

	workers = []*worker{defaultWorker, leaseWorker, cacheWorker, misconfiguredWorker, authWorker, strictWorker, faultsWorker, gatewayWorker, strictGatewayWorker,
		queueWorker, strictQueueWorker, durableQueueWorker, queueFaultsWorker, // queue_test.go
		reloadWorker, refusedWorker, // coldstart_test.go
		durableWorker} // durable_test.go
)

func (w *worker) get(t *testing.T) *worker {
	t.Helper()
	w.once.Do(func() {
		if w.gateway {
			w.opts.Vars["PLACEMENT_URL"] = standIn().URL + "/orders"
		}
		w.opts = nativeOptions(t, w.opts)
		start := time.Now()
		w.srv, w.err = devserver.Start(w.opts)
		if w.err == nil {
			fmt.Fprintf(os.Stderr, "e2e: %s worker up at %s after %v\n", w.name, w.srv.URL, time.Since(start).Round(time.Millisecond))
		}
	})
	if w.err != nil {
		t.Fatalf("starting the %s worker: %v", w.name, w.err)
	}
	return w
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, w := range workers {
		if w.srv == nil {
			continue
		}
		err := w.srv.Stop()
		if err != nil {
			fmt.Fprintf(os.Stderr, "e2e: stopping the %s worker: %v\n", w.name, err)
			code = 1
		}
		if code != 0 {
			// Stop removed the instance directory; keep its log for the post-mortem.
			file := filepath.Join(os.TempDir(), "e2e-"+w.name+"-wrangler.log")
			os.WriteFile(file, []byte(w.srv.Log()), 0o644)
			fmt.Fprintf(os.Stderr, "--- last lines of the %s worker's log (all of it: %s) ---\n%s\n", w.name, file, w.srv.LogTail(15))
		}
	}
	if standInServer != nil {
		standInServer.Close() // after the workers that call it
	}
	testservers.Stop() // after the native servers that use them
	os.Exit(code)
}

var client = &http.Client{Timeout: 30 * time.Second}

// reply is what workerd sent.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) String() string {
	return fmt.Sprintf("%d %s", r.status, r.body)
}

// send makes one request; headers are name, value pairs, and a name given
// twice is sent as two header lines. Every response of the worker must be
// JSON, and every error problem details (docs/contract.md), so send checks
// that for all of them.
func send(t *testing.T, w *worker, method, path, body string, headers ...string) reply {
	t.Helper()
	w.traffic.RLock()
	defer w.traffic.RUnlock()
	return do(t, w, method, path, body, headers...)
}

// do is send for a caller that holds w.traffic itself.
func do(t *testing.T, w *worker, method, path, body string, headers ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, w.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, body: b}
	wantCT := "application/json"
	if r.status >= 400 {
		wantCT = idempotency.ProblemContentType
	}
	if ct := resp.Header.Values("Content-Type"); len(ct) != 1 || ct[0] != wantCT {
		t.Errorf("%s %s: Content-Type %q, want exactly %s (answer: %s)", method, path, ct, wantCT, r)
	}
	return r
}

// post sends an order to POST /orders under key, as a JSON client would.
func post(t *testing.T, w *worker, key, body string) reply {
	t.Helper()
	return send(t, w, http.MethodPost, "/orders", body, "Idempotency-Key", key, "Content-Type", "application/json")
}

const msft = `{"symbol":"MSFT","side":"buy","quantity":100}`

var msftOrder = order.Order{Symbol: "MSFT", Side: "buy", Quantity: 100}

// newKey is a fresh Idempotency-Key; tests share workers, never keys.
func newKey() string {
	return "e2e-" + uuid.NewString()
}

// wantError checks an error answer: status, code and the problem details
// of docs/contract.md (type, title, status, detail, and error and message
// kept), with no members beyond those and the extras the code allows. It
// returns the decoded body.
func wantError(t *testing.T, r reply, status int, code string, extras ...string) map[string]any {
	t.Helper()
	if r.status != status {
		t.Errorf("status %d, want %d %s (answer: %s)", r.status, status, code, r)
	}
	var body map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Errorf("error body is not a JSON object: %v (answer: %s)", err, r)
		return nil
	}
	if body["error"] != code {
		t.Errorf("error code %v, want %q (answer: %s)", body["error"], code, r)
	}
	if msg, _ := body["message"].(string); strings.TrimSpace(msg) == "" || body["detail"] != msg {
		t.Errorf("error body has no message, or a detail other than it (answer: %s)", r)
	}
	if body["type"] != intake.ProblemTypeBase+code || body["status"] != float64(status) {
		t.Errorf("problem type %v and status %v, want %s and %d (answer: %s)", body["type"], body["status"], intake.ProblemTypeBase+code, status, r)
	}
	if title, _ := body["title"].(string); title == "" {
		t.Errorf("problem without a title (answer: %s)", r)
	}
	allowed := map[string]bool{"type": true, "title": true, "status": true, "detail": true, "error": true, "message": true}
	for _, e := range extras {
		allowed[e] = true
		if _, ok := body[e]; !ok {
			t.Errorf("error body lacks %q (answer: %s)", e, r)
		}
	}
	for name := range body {
		if !allowed[name] {
			t.Errorf("error body has unexpected member %q (answer: %s)", name, r)
		}
	}
	return body
}

// receiptFields is the member order of a market order's receipt
// (docs/contract.md: The receipt).
var receiptFields = []string{"orderId", "status", "symbol", "side", "quantity", "type", "timeInForce", "acceptedAt"}

// wantReceipt checks a 201 and returns its receipt, decoded.
func wantReceipt(t *testing.T, r reply, key string, o order.Order) order.Receipt {
	t.Helper()
	return wantScopedReceipt(t, r, "", key, o)
}

// wantScopedReceipt checks a 201 to the client scope (docs/contract.md#client-scoping).
func wantScopedReceipt(t *testing.T, r reply, scope, key string, o order.Order) order.Receipt {
	t.Helper()
	if r.status != http.StatusCreated {
		t.Fatalf("status %d, want 201 (answer: %s)", r.status, r)
	}
	if v := r.header.Get("Idempotent-Replay"); v != "" {
		t.Errorf("a first execution carries Idempotent-Replay: %q", v)
	}
	o = o.WithDefaults()
	fields := receiptFields
	if o.Type == order.TypeLimit {
		fields = slices.Insert(slices.Clone(fields), slices.Index(fields, "timeInForce"), "limitPrice")
	}
	if names := memberNames(t, r.body); strings.Join(names, ",") != strings.Join(fields, ",") {
		t.Errorf("receipt members %v, want %v in this order (answer: %s)", names, fields, r)
	}
	var rc order.Receipt
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rc); err != nil {
		t.Fatalf("receipt: %v (answer: %s)", err, r)
	}
	if want := order.OrderID(scope, key, o.Fingerprint()); rc.OrderID != want {
		t.Errorf("orderId %s, want the deterministic %s", rc.OrderID, want)
	}
	if id, err := uuid.Parse(rc.OrderID); err != nil || id.Version() != 5 || id.Variant() != uuid.RFC4122 {
		t.Errorf("orderId %s is not an RFC 4122 version-5 UUID (%v)", rc.OrderID, err)
	}
	if rc.Status != "accepted" || rc.Symbol != o.Symbol || rc.Side != o.Side || rc.Quantity != o.Quantity ||
		rc.Type != o.Type || rc.LimitPrice != o.LimitPrice || rc.TimeInForce != o.TimeInForce {
		t.Errorf("receipt %+v does not describe %+v", rc, o)
	}
	at, err := time.Parse("2006-01-02T15:04:05.000Z", rc.AcceptedAt)
	if err != nil {
		t.Errorf("acceptedAt %q is not UTC RFC 3339 with milliseconds and Z: %v", rc.AcceptedAt, err)
	} else if d := time.Since(at); d < -time.Minute || d > time.Minute {
		t.Errorf("acceptedAt %s is %v away from now", rc.AcceptedAt, d)
	}
	return rc
}

// wantReplay checks that r replays the original 201 body.
func wantReplay(t *testing.T, r reply, original []byte) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Errorf("status %d, want 200 replay (answer: %s)", r.status, r)
	}
	if !bytes.Equal(r.body, original) {
		t.Errorf("replay body differs from the original 201:\n got %s\nwant %s", r.body, original)
	}
	if v := r.header.Values("Idempotent-Replay"); len(v) != 1 || v[0] != "true" {
		t.Errorf("Idempotent-Replay %q, want true", v)
	}
}

// memberNames lists the members of a JSON object in the order they appear.
func memberNames(t *testing.T, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", body)
	}
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%v in %s", err, body)
		}
		names = append(names, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatalf("%v in %s", err, body)
		}
	}
	return names
}

// logEntry is one of the worker's JSON log lines (docs/contract.md#logs).
type logEntry struct {
	Event     string `json:"event"`
	Status    int    `json:"status"`
	Code      string `json:"code"`
	OrderID   string `json:"orderId"`
	ElapsedMs *int64 `json:"elapsedMs"`
	Error     string `json:"error"`
}

func logEntries(w *worker) []logEntry {
	var entries []logEntry
	for line := range strings.Lines(w.srv.Log()) {
		var e logEntry
		if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &e) == nil && e.Event != "" {
			entries = append(entries, e)
		}
	}
	return entries
}

// waitLog waits until the worker has logged n lines matching match; the
// worker logs after answering, so a line may trail its response.
func waitLog(t *testing.T, w *worker, n int, match func(logEntry) bool) []logEntry {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var found []logEntry
		for _, e := range logEntries(w) {
			if match(e) {
				found = append(found, e)
			}
		}
		if len(found) >= n || time.Now().After(deadline) {
			if len(found) != n {
				t.Errorf("worker logged %d matching lines, want %d; log tail:\n%s", len(found), n, w.srv.LogTail(20))
			}
			return found
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kvPut writes records into the worker's local KV namespace behind its back,
// through wrangler's own kv command, to set up states a client cannot reach
// over HTTP in a controlled way (a live claim, a corrupt record).
func kvPut(t *testing.T, w *worker, records map[string]string) {
	t.Helper()
	type entry struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	var entries []entry
	for k, v := range records {
		entries = append(entries, entry{k, v})
	}
	b, _ := json.Marshal(entries)
	file := filepath.Join(t.TempDir(), "records.json")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	wrangler(t, w, "kv", "bulk", "put", file, "--binding", "ORDERS")
}

// wrangler runs a wrangler command on the worker's local state, with no
// request in flight.
func wrangler(t *testing.T, w *worker, args ...string) string {
	t.Helper()
	w.traffic.Lock()
	defer w.traffic.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := w.srv.Wrangler(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func claimRecord(t *testing.T, o order.Order, claimedAt, leaseUntil time.Time) string {
	b, err := json.Marshal(idempotency.Claim{Fingerprint: o.Fingerprint(), ClaimedAt: claimedAt, LeaseUntil: leaseUntil})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
