//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/d1"
	idemkv "github.com/orderintake/edge/idempotency/kv"
	"github.com/orderintake/edge/intake"
	"github.com/orderintake/edge/kvstore"
	"github.com/orderintake/edge/order"
	"github.com/orderintake/edge/queue"
	"github.com/orderintake/edge/scripts/internal/devserver"
	"github.com/orderintake/edge/scripts/internal/oms"
)

// queueConfig is one run of queueBench.
type queueConfig struct {
	n        int           // new orders one at a time, per worker
	duration time.Duration // of each concurrent measurement
	runs     int           // concurrent measurements per worker, alternating
	conc     int           // clients of a concurrent measurement
	delay    time.Duration // the stand-in gateway's time per call
}

// queueResult is what queueBench measured.
type queueResult struct {
	one        map[string][]time.Duration // intake latency, one order at a time
	concurrent map[string][]stats
	// placedAfter is placedAt − acceptedAt of the queue worker's orders,
	// those sent one at a time and those of the concurrent runs.
	placedAfter map[string][]time.Duration
	// drained is, per concurrent run of the queue worker, how many orders it
	// queued and the time from the first one's acceptedAt to the last one's
	// placedAt: what the local consumer sustained.
	drained []drainedRun
	ops     queueOps
}

type drainedRun struct {
	orders int
	span   time.Duration
}

// queueBench compares queue mode's intake with inline placement through the
// order gateway: two workers on the same stand-in gateway, one placing in
// the request (201) and one in queue mode (202, wrangler.toml [env.queue]),
// measured in the same run, alternating. It then reads every queued order's
// status for the time from its 202 to placed (its placedAt − acceptedAt).
func queueBench(ctx context.Context, cfg queueConfig, out io.Writer) (*queueResult, error) {
	gateway := oms.New("", oms.Plan{}, nil)
	standIn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(cfg.delay) // a slower order-management system
		gateway.ServeHTTP(w, r)
	}))
	defer standIn.Close()
	vars := func() map[string]string { return map[string]string{"PLACEMENT_URL": standIn.URL + "/orders"} }
	servers, err := startAll(map[string]func() (devserver.Options, error){
		"inline": func() (devserver.Options, error) { return devserver.Options{Vars: vars()}, nil },
		"queue":  func() (devserver.Options, error) { return devserver.QueueMode(devserver.Options{Vars: vars()}), nil },
	})
	for _, s := range servers {
		defer s.Stop()
	}
	if err != nil {
		return nil, err
	}
	res := &queueResult{one: map[string][]time.Duration{}, concurrent: map[string][]stats{}, placedAfter: map[string][]time.Duration{}}
	if res.ops, err = queueOpsPerOrder(); err != nil {
		return nil, err
	}
	want := map[string]int{"inline": http.StatusCreated, "queue": http.StatusAccepted}
	var (
		mu   sync.Mutex
		keys = map[string][]string{} // the queue worker's keys, by phase
	)
	newOrder := func(name, phase string) request {
		return request{method: "POST", path: "/orders", body: validOrder, want: want[name], key: func(i int64) string {
			key := fmt.Sprintf("bench-%s-%s-%d-%d", name, phase, os.Getpid(), i)
			if name == "queue" && phase != "warmup" {
				mu.Lock()
				keys[phase] = append(keys[phase], key)
				mu.Unlock()
			}
			return key
		}}
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	names := []string{"inline", "queue"}

	const warmup = 20
	for i := range warmup {
		for _, name := range names {
			if status, err := send(ctx, client, servers[name].URL, newOrder(name, "warmup"), int64(i)); err != nil || status != want[name] {
				return nil, fmt.Errorf("%s warm-up: status %d, %v", name, status, err)
			}
		}
	}
	for i := range cfg.n {
		for _, name := range names {
			start := time.Now()
			status, err := send(ctx, client, servers[name].URL, newOrder(name, "one"), seq.Add(1))
			took := time.Since(start)
			if err != nil || status != want[name] {
				return nil, fmt.Errorf("%s: new order %d: status %d, %v", name, i, status, err)
			}
			res.one[name] = append(res.one[name], took)
		}
	}
	fingerprint := order.Order{Symbol: "MSFT", Side: "buy", Quantity: 100}.Fingerprint()
	var failures []error
	for r := range cfg.runs {
		turn := names
		if r%2 == 1 {
			turn = []string{"queue", "inline"}
		}
		for _, name := range turn {
			st := measure(ctx, client, servers[name].URL, newOrder(name, "concurrent"), cfg.conc, cfg.duration)
			if st.bad > 0 {
				failures = append(failures, fmt.Errorf("%s c=%d: %d bad answers, first: %s", name, cfg.conc, st.bad, st.firstBad))
			}
			res.concurrent[name] = append(res.concurrent[name], st)
			if name != "queue" {
				continue
			}
			// Let the consumer drain the run's orders before the next
			// measurement, so that it does not compete with that one.
			var first, last time.Time
			for _, key := range keys["concurrent"] {
				accepted, placed, err := waitPlaced(ctx, client, servers["queue"].URL, order.OrderID("", key, fingerprint))
				if err != nil {
					return nil, err
				}
				res.placedAfter["concurrent"] = append(res.placedAfter["concurrent"], placed.Sub(accepted))
				if first.IsZero() || accepted.Before(first) {
					first = accepted
				}
				if placed.After(last) {
					last = placed
				}
			}
			res.drained = append(res.drained, drainedRun{orders: len(keys["concurrent"]), span: last.Sub(first)})
			keys["concurrent"] = nil
		}
	}
	if err := errors.Join(failures...); err != nil {
		return nil, err
	}
	for _, key := range keys["one"] {
		accepted, placed, err := waitPlaced(ctx, client, servers["queue"].URL, order.OrderID("", key, fingerprint))
		if err != nil {
			return nil, err
		}
		res.placedAfter["one"] = append(res.placedAfter["one"], placed.Sub(accepted))
	}
	return res, nil
}

// waitPlaced waits until the order is placed and returns its acceptedAt and
// placedAt, both the worker's clock.
func waitPlaced(ctx context.Context, client *http.Client, baseURL, id string) (accepted, placed time.Time, err error) {
	deadline := time.Now().Add(time.Minute)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/orders/"+id, nil)
		resp, err := client.Do(req)
		if err != nil {
			return accepted, placed, err
		}
		var doc order.OrderStatus
		err = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return accepted, placed, fmt.Errorf("GET /orders/%s: %d, %v", id, resp.StatusCode, err)
		}
		switch doc.Status {
		case order.StatusPlaced:
			accepted, err1 := time.Parse(time.RFC3339Nano, doc.AcceptedAt)
			placed, err2 := time.Parse(time.RFC3339Nano, doc.PlacedAt)
			return accepted, placed, errors.Join(err1, err2)
		case order.StatusQueued:
		default:
			return accepted, placed, fmt.Errorf("order %s ended %s: %s", id, doc.Status, doc.Reason)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return accepted, placed, fmt.Errorf("order %s still queued after a minute", id)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func reportQueue(cfg queueConfig, res *queueResult, out io.Writer) {
	fmt.Fprintf(out, "## Queue mode against inline placement through the gateway (the stand-in answering after %v)\n\n%s\n\n", cfg.delay, machine())
	fmt.Fprintf(out, "### New orders one at a time (%d per worker, alternating, after 20 warm-up)\n\n", cfg.n)
	fmt.Fprintln(out, "| worker | answer | p50 | p90 | p99 |\n|---|---|---|---|---|")
	for _, name := range []string{"inline", "queue"} {
		s := slices.Sorted(slices.Values(res.one[name]))
		answer := map[string]string{"inline": "201", "queue": "202"}[name]
		fmt.Fprintf(out, "| %s | %s | %s | %s | %s |\n", name, answer, ms(median(s)), ms(percentile(s, 0.9)), ms(percentile(s, 0.99)))
	}
	fmt.Fprintf(out, "\nqueue/inline p50: %.2f\n", ratio(median(res.one["queue"]), median(res.one["inline"])))
	fmt.Fprintf(out, "\n### New orders, %d clients, %d runs of %v per worker, alternating (median run)\n\n", cfg.conc, cfg.runs, cfg.duration)
	fmt.Fprintln(out, "| worker | req/s | p50 | p99 |\n|---|---|---|---|")
	med := map[string]stats{}
	for _, name := range []string{"inline", "queue"} {
		var rps []float64
		var p50, p99 []time.Duration
		for _, st := range res.concurrent[name] {
			rps, p50, p99 = append(rps, st.rps), append(p50, st.p50), append(p99, st.p99)
		}
		med[name] = stats{rps: median(rps), p50: median(p50), p99: median(p99)}
		fmt.Fprintf(out, "| %s | %.0f | %s | %s |\n", name, med[name].rps, ms(med[name].p50), ms(med[name].p99))
	}
	fmt.Fprintf(out, "\nqueue/inline req/s: %.2f, p50: %.2f\n", med["queue"].rps/med["inline"].rps, ratio(med["queue"].p50, med["inline"].p50))
	fmt.Fprintln(out, "\n### From 202 to placed (placedAt − acceptedAt)\n\n| orders | count | p50 | p99 | max |\n|---|---|---|---|---|")
	for _, phase := range []string{"one", "concurrent"} {
		s := slices.Sorted(slices.Values(res.placedAfter[phase]))
		if len(s) == 0 {
			continue
		}
		label := map[string]string{"one": "sent one at a time", "concurrent": fmt.Sprintf("sent by %d clients", cfg.conc)}[phase]
		fmt.Fprintf(out, "| %s | %d | %s | %s | %s |\n", label, len(s), ms(median(s)), ms(percentile(s, 0.99)), ms(s[len(s)-1]))
	}
	fmt.Fprintln(out, "\n### The local consumer, per concurrent run (first acceptedAt to last placedAt)\n\n| orders | span | placed/s |\n|---|---|---|")
	for _, d := range res.drained {
		fmt.Fprintf(out, "| %d | %s | %.0f |\n", d.orders, ms(d.span), float64(d.orders)/d.span.Seconds())
	}
	o := res.ops
	fmt.Fprintln(out, "\n### Storage operations and queue sends per new order (natively, over kvstore.Fake and d1.FakeTable)\n\n| mode | step | KV reads | KV writes | D1 statements | queue sends |\n|---|---|---|---|---|---|")
	for _, row := range o.rows {
		fmt.Fprintf(out, "| %s | %s | %d | %d | %d | %d |\n", row.mode, row.step, row.kvGet, row.kvPut, row.d1, row.sends)
	}
}

// queueOps are the storage operations of one new order in queue mode.
type queueOps struct {
	rows []queueOpsRow
}

type queueOpsRow struct {
	mode, step              string
	kvGet, kvPut, d1, sends int
}

// countingSender is a queue that counts its sends and keeps the messages.
type countingSender struct {
	mu       sync.Mutex
	messages [][]byte
}

func (s *countingSender) Send(_ context.Context, body []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, bytes.Clone(body))
	return nil
}

// queueOpsPerOrder runs queue mode natively, KV mode and strict mode, and
// counts what one new order costs: the intake, the consumer, a replay of
// the intake, and GET /orders/<orderId> while queued and once placed.
func queueOpsPerOrder() (queueOps, error) {
	var ops queueOps
	for _, mode := range []string{"KV", "strict"} {
		clock := kvstore.NewClock(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
		kv := kvstore.NewFake(clock.Now)
		table := d1.NewFakeTable()
		var store idempotency.Store = idemkv.Store{KV: kv}
		if mode == "strict" {
			store = d1.Store{Table: table, Results: &idemkv.Store{KV: kv}, Now: clock.Now}
		}
		settings, err := intake.ParseSettings(func(string) string { return "" })
		if err != nil {
			return ops, err
		}
		settings.ResultCacheEntries = 0 // every read goes to the store
		sender := &countingSender{}
		// The intake and its consumer: one service, as the worker wires it.
		h := intake.New(intake.Config{Store: store, Placer: order.MintReceipt{Now: clock.Now}, Settings: settings,
			Log: io.Discard, Now: clock.Now, Queue: sender, Statuses: kv})
		consumer := h
		d1Statements := func() int {
			n := 0
			for _, m := range []string{"Get", "Claim", "Complete", "Release"} {
				n += table.Statements(m)
			}
			return n
		}
		step := func(name string, do func() error) error {
			get, put, d1n, sends := kv.Calls(kvstore.OpGet), kv.Calls(kvstore.OpPut), d1Statements(), len(sender.messages)
			if err := do(); err != nil {
				return fmt.Errorf("%s mode, %s: %w", mode, name, err)
			}
			ops.rows = append(ops.rows, queueOpsRow{mode: mode, step: name, kvGet: kv.Calls(kvstore.OpGet) - get,
				kvPut: kv.Calls(kvstore.OpPut) - put, d1: d1Statements() - d1n, sends: len(sender.messages) - sends})
			return nil
		}
		serve := func(method, path string, want int) error {
			var body io.Reader
			if method == http.MethodPost {
				body = strings.NewReader(validOrder)
			}
			req := httptest.NewRequest(method, path, body)
			req.Header.Set("Idempotency-Key", "queue-ops")
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != want {
				return fmt.Errorf("%s %s: %d %s, want %d", method, path, rec.Code, rec.Body, want)
			}
			return nil
		}
		id := order.OrderID("", "queue-ops", order.Order{Symbol: "MSFT", Side: "buy", Quantity: 100}.Fingerprint())
		steps := []struct {
			name string
			do   func() error
		}{
			{"intake (202)", func() error { return serve(http.MethodPost, "/orders", http.StatusAccepted) }},
			{"GET while queued", func() error { return serve(http.MethodGet, "/orders/"+id, http.StatusOK) }},
			{"consumer: placed", func() error {
				v := consumer.Consume(context.Background(), "order-intake-placements", []queue.Message{{ID: "m", Body: sender.messages[0], Attempts: 1}})
				if v[0] != (queue.Verdict{}) {
					return fmt.Errorf("verdict %+v", v[0])
				}
				return nil
			}},
			{"GET once placed", func() error { return serve(http.MethodGet, "/orders/"+id, http.StatusOK) }},
			{"replay of the intake (202)", func() error { return serve(http.MethodPost, "/orders", http.StatusAccepted) }},
			{"consumer: a duplicate delivery", func() error {
				consumer.Consume(context.Background(), "order-intake-placements", []queue.Message{{ID: "m", Body: sender.messages[0], Attempts: 2}})
				return nil
			}},
		}
		for _, s := range steps {
			if err := step(s.name, s.do); err != nil {
				return ops, err
			}
		}
	}
	return ops, nil
}
