//go:build unix

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/d1"
	"github.com/orderintake/edge/idempotency/durable"
	idemkv "github.com/orderintake/edge/idempotency/kv"
	"github.com/orderintake/edge/intake"
	"github.com/orderintake/edge/kvstore"
	"github.com/orderintake/edge/order"
	"github.com/orderintake/edge/scripts/internal/devserver"
)

// storeNames are the stores storesBench compares, in its tables' order.
var storeNames = []string{"KV", "strict, D1", "strict, Durable Objects"}

// storePaths are what storesBench measures on each store: a replay that
// misses the isolate's own result cache (every instance runs with
// RESULT_CACHE_ENTRIES=0), and a new order.
var storePaths = paths[:2]

// storesBench measures replay and new order on the three stores, one
// wrangler dev instance each (wrangler.toml, [env.strict], [env.durable]),
// in the same run: each measurement on the three back to back, every other
// run backwards. It reports the median of runs, and the operations each
// store makes per request, counted natively.
func storesBench(ctx context.Context, cfg config, out io.Writer) error {
	vars := func() map[string]string { return map[string]string{"RESULT_CACHE_ENTRIES": "0"} }
	servers, err := startAll(map[string]func() (devserver.Options, error){
		storeNames[0]: func() (devserver.Options, error) { return devserver.Options{Vars: vars()}, nil },
		storeNames[1]: func() (devserver.Options, error) { return devserver.StrictMode(devserver.Options{Vars: vars()}), nil },
		storeNames[2]: func() (devserver.Options, error) { return devserver.DurableMode(devserver.Options{Vars: vars()}), nil },
	})
	for _, s := range servers {
		defer s.Stop()
	}
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
	defer client.CloseIdleConnections()
	var jobs []*job
	for _, name := range storeNames {
		if _, err := send(ctx, client, servers[name].URL, request{method: "POST", path: "/orders", body: validOrder, key: fixedKey(replayKey)}, 0); err != nil {
			return err
		}
		for _, p := range storePaths {
			for _, c := range cfg.concs {
				jobs = append(jobs, &job{target: name, name: p.name, conc: c, req: p.req})
			}
		}
	}
	for _, j := range jobs {
		measure(ctx, client, servers[j.target].URL, j.req, j.conc, cfg.warmup)
	}
	for r := range cfg.runs {
		for i := range jobs {
			j := jobs[i]
			if r%2 == 1 {
				j = jobs[len(jobs)-1-i]
			}
			st := measure(ctx, client, servers[j.target].URL, j.req, j.conc, cfg.duration)
			if st.bad > 0 {
				return fmt.Errorf("%s %s c=%d: %d bad answers, first: %s", j.target, j.name, j.conc, st.bad, st.firstBad)
			}
			j.runs = append(j.runs, st)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "## Stores: %d runs of %v per measurement, median; RESULT_CACHE_ENTRIES=0\n\n", cfg.runs, cfg.duration)
	fmt.Fprintln(out, "| path | c | store | req/s | p50 | p99 |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|")
	for _, p := range storePaths {
		for _, c := range cfg.concs {
			for _, name := range storeNames {
				var rps []float64
				var p50, p99 []time.Duration
				for _, st := range runsOf(jobs, name, p.name, c) {
					rps, p50, p99 = append(rps, st.rps), append(p50, st.p50), append(p99, st.p99)
				}
				fmt.Fprintf(out, "| %s | %d | %s | %.0f | %s | %s |\n", p.name, c, name, median(rps), ms(median(p50)), ms(median(p99)))
			}
		}
	}
	ops, err := storeOpsPerPath()
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\n## Operations per request, counted natively over the stores' fakes (no result cache)")
	fmt.Fprintln(out, "\n| store | new order (201) | replay (200) |\n|---|---|---|")
	for _, name := range storeNames {
		fmt.Fprintf(out, "| %s | %s | %s |\n", name, ops[name]["new"], ops[name]["replay"])
	}
	return nil
}

// storeOps are the operations of one request on one store.
type storeOps struct {
	kvGet, kvPut int
	d1           int            // statements
	objects      map[string]int // calls of the records object, per method
}

func (o storeOps) String() string {
	s := fmt.Sprintf("%d KV get, %d KV put", o.kvGet, o.kvPut)
	if o.d1 > 0 {
		s += fmt.Sprintf(", %d D1 statements", o.d1)
	}
	for _, m := range []string{"get", "claim", "complete", "release"} {
		if n := o.objects[m]; n > 0 {
			s += fmt.Sprintf(", %d object %s", n, m)
		}
	}
	return s
}

// storeOpsPerPath runs the order handler natively over each store, on fakes
// of KV, the D1 table and the records objects, and counts what a new order
// and its replay make of each.
func storeOpsPerPath() (map[string]map[string]storeOps, error) {
	settings, err := intake.ParseSettings(func(string) string { return "" })
	if err != nil {
		return nil, err
	}
	settings.ResultCacheEntries = 0 // every replay reads the store
	out := map[string]map[string]storeOps{}
	for _, name := range storeNames {
		clock := kvstore.NewClock(time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC))
		kv := kvstore.NewFake(clock.Now)
		table, objects := d1.NewFakeTable(), durable.NewFake()
		var store idempotency.Store = idemkv.Store{KV: kv}
		switch name {
		case storeNames[1]:
			store = d1.Store{Table: table, Results: &idemkv.Store{KV: kv}, Now: clock.Now}
		case storeNames[2]:
			store = durable.New(objects, &idemkv.Store{KV: kv}, clock.Now)
		}
		h := intake.New(intake.Config{Store: store, Placer: order.MintReceipt{Now: clock.Now},
			Settings: settings, Log: io.Discard, Now: clock.Now})
		count := func() storeOps {
			o := storeOps{kvGet: kv.Calls(kvstore.OpGet), kvPut: kv.Calls(kvstore.OpPut), objects: map[string]int{}}
			for _, m := range []string{"Get", "Claim", "Complete", "Release"} {
				o.d1 += table.Statements(m)
			}
			for _, m := range []string{"get", "claim", "complete", "release"} {
				o.objects[m] = objects.Calls(m)
			}
			return o
		}
		out[name] = map[string]storeOps{}
		for _, step := range []struct {
			path string
			want int
		}{{"new", http.StatusCreated}, {"replay", http.StatusOK}} {
			before := count()
			req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(validOrder))
			req.Header.Set("Idempotency-Key", "storeops")
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != step.want {
				return nil, fmt.Errorf("%s: %s: %d %s, want %d", name, step.path, rec.Code, rec.Body, step.want)
			}
			after := count()
			diff := storeOps{kvGet: after.kvGet - before.kvGet, kvPut: after.kvPut - before.kvPut, d1: after.d1 - before.d1, objects: map[string]int{}}
			for m, n := range after.objects {
				diff.objects[m] = n - before.objects[m]
			}
			out[name][step.path] = diff
		}
	}
	return out, nil
}
