//go:build unix

// Command bench measures the order-intake worker under the pinned
// `wrangler dev` (workerd, local KV) against a floor: a minimal JavaScript
// worker (fixtures/floor) that makes only the KV operations the contract
// needs and logs its line. Both run in the same process run, interleaved, so
// that the noise of a small shared machine hits both, and every figure is
// reported as a ratio to the floor. An empty Go worker (fixtures/emptygo)
// breaks down what a request costs before the handler runs; the worker with
// a Go runtime per request (how syumai/workers' own glue runs Go) shows what
// the runtime per isolate saves; cold starts time a fresh isolate's first
// answer; a soak checks that memory stays flat; fixtures/d1cost reports what
// D1 bills for each statement of strict mode. With -tinygo the worker's
// TinyGo build runs beside the standard one (per path, cold starts, size).
// When the seed worker lies beside the repository (../shared/bench, see
// seed.go), the worker is also measured against it: the baseline. With
// -seedonly only that comparison runs; with -previous REV the worker as it
// was at that git revision runs those paths too, beside this one, so that an
// upgrade's cost or gain is measured in one run. BENCHMARKS.md has the figures.
//
//	go run ./scripts/bench [-duration 2s] [-runs 3] [-soak 100000] [-tinygo] [-seedonly] [-previous REV]
//	go run ./scripts/bench -gateway 200    # what the order gateway adds to a new order
//	go run ./scripts/bench -queue 200      # queue mode against inline placement through the gateway
//	go run ./scripts/bench -queue 200 -gateway-delay 200ms   # … through a slow gateway
//	go run ./scripts/bench -native         # the native server on memory, Redis and PostgreSQL against its floor
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/d1"
	"github.com/orderintake/edge/order"
	"github.com/orderintake/edge/scripts/internal/devserver"
)

const (
	validOrder   = `{"symbol":"MSFT","side":"buy","quantity":100}`
	invalidOrder = `{"symbol":"MSFT","side":"hold","quantity":100}`
	replayKey    = "bench-replay"
	// kvcallsReplayKey is placed once through /kvcalls on the floor and the
	// empty Go worker, so that /kvcalls under it makes only a replay's KV
	// call: one read of a stored key.
	kvcallsReplayKey = "bench-kvcalls-replay"
	inFlightKey      = "bench-in-flight"
)

// inFlightClaim is a pending record for validOrder under inFlightKey whose
// lease never ends, so that every request for it answers 409.
func inFlightClaim(now time.Time) string {
	o, err := order.ParseOrder([]byte(validOrder))
	if err != nil {
		panic(err)
	}
	b, _ := json.Marshal(idempotency.Claim{Fingerprint: o.Fingerprint(), ClaimedAt: now,
		LeaseUntil: time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC)})
	return string(b)
}

func fixedKey(key string) func(int64) string { return func(int64) string { return key } }

// freshKey gives each request a key no request has used.
func freshKey(prefix string) func(int64) string {
	return func(n int64) string { return fmt.Sprintf("bench-%s-%d-%d", prefix, os.Getpid(), n) }
}

// kvOps are the floor's KV operations (GET /kvop), each measured one client
// at a time, kvOpsPerRequest of them per request; "none" is the request
// without them, subtracted from each.
var kvOps = []string{"none", "get-miss", "get-hit", "bulk-get-2-misses", "bulk-get-hit-and-miss",
	"put", "put-then-get", "put-then-delete", "delete-miss"}

const kvOpsPerRequest = 20

func kvOpRequest(op string) request {
	return request{method: "GET", path: fmt.Sprintf("/kvop?op=%s&n=%d", op, kvOpsPerRequest), want: 200}
}

// paths are the contract's paths, measured on the worker and on the floor.
var paths = []struct {
	name string
	req  request
}{
	{"replay (200)", request{method: "POST", path: "/orders", body: validOrder, key: fixedKey(replayKey), want: 200}},
	{"new order (201)", request{method: "POST", path: "/orders", body: validOrder, key: freshKey("new"), want: 201}},
	{"in flight (409)", request{method: "POST", path: "/orders", body: validOrder, key: fixedKey(inFlightKey), want: 409}},
	{"invalid (422)", request{method: "POST", path: "/orders", body: invalidOrder, key: fixedKey("bench-invalid"), want: 422}},
}

// breakdown are the steps from nothing to a replay, each a request that does
// one thing more than the one above it.
var breakdown = []struct {
	target, name string
	req          request
}{
	{"floor", "JS: empty response", request{method: "GET", path: "/empty", want: 200}},
	{"emptygo", "Go: empty response", request{method: "GET", path: "/empty", want: 200}},
	{"floor", "JS: read body, receipt-sized JSON", request{method: "POST", path: "/receipt", body: validOrder, want: 200}},
	{"emptygo", "Go: read body, receipt-sized JSON", request{method: "POST", path: "/receipt", body: validOrder, want: 200}},
	{"floor", "JS: a new order's KV calls, fixed values", request{method: "POST", path: "/kvcalls", body: validOrder, key: freshKey("kvcalls"), want: 201}},
	{"emptygo", "Go: the same KV calls through the bridge", request{method: "POST", path: "/kvcalls", body: validOrder, key: freshKey("kvcalls"), want: 201}},
	{"floor", "JS: a replay's KV read, fixed values", request{method: "POST", path: "/kvcalls", body: validOrder, key: fixedKey(kvcallsReplayKey), want: 200}},
	{"emptygo", "Go: the same read through the bridge", request{method: "POST", path: "/kvcalls", body: validOrder, key: fixedKey(kvcallsReplayKey), want: 200}},
	{"worker", "worker: GET /healthz, no storage", request{method: "GET", path: "/healthz", want: 200}},
	{"perrequest", "worker, a Go runtime per request: replay (200)", paths[0].req},
}

// config is one run of the harness.
type config struct {
	duration  time.Duration // of each measurement
	warmup    time.Duration // of each kind of measurement, once, before the first run
	runs      int           // the median of these is reported
	concs     []int
	breakdown bool   // start the empty Go worker and measure the breakdown
	d1        bool   // start the D1 fixture and report rows read and written
	unlogged  bool   // also measure the paths with neither worker logging
	cold      int    // cold starts timed per worker (0: none)
	tinygo    bool   // also the worker's TinyGo build: per path, cold starts, size
	soak      int    // requests of the soak (0: none)
	floor     bool   // start the floor and measure the paths against it
	seedDir   string // the seed worker; "" means ../shared/bench/seed-worker
	previous  string // a git revision whose worker is measured beside this one ("": none)
	out       io.Writer
}

// job is one kind of measurement; its runs are stats.
type job struct {
	target, name string
	conc         int
	req          request
	runs         []stats
}

// runsOf are the runs of the job among jobs that measured name at conc on
// target; nil when there is none.
func runsOf(jobs []*job, target, name string, conc int) []stats {
	for _, j := range jobs {
		if j.target == target && j.name == name && j.conc == conc {
			return j.runs
		}
	}
	return nil
}

// result is everything a run measured.
type result struct {
	jobs    []*job
	cold    map[string]map[string][]coldSample // by first request (coldFirsts), then target
	soak    map[string]*soakResult             // by target: the worker, and its TinyGo build
	kvOps   map[string]kvCount
	sizes   map[string][2]int64 // raw, gzip
	d1Steps []d1Step
	noSeed  string // why the seed worker was not measured, when it was not
}

type d1Step struct {
	Name        string `json:"name"`
	RowsRead    int    `json:"rows_read"`
	RowsWritten int    `json:"rows_written"`
	Changes     int    `json:"changes"`
	Rows        int    `json:"rows"`
}

func main() {
	cfg := config{out: os.Stdout, concs: []int{1, 8}, breakdown: true, d1: true, unlogged: true, floor: true}
	flag.DurationVar(&cfg.duration, "duration", 2*time.Second, "length of each measurement")
	flag.IntVar(&cfg.cold, "cold", 5, "cold starts timed per worker")
	flag.IntVar(&cfg.soak, "soak", 100_000, "requests of the soak; 0 skips it")
	flag.DurationVar(&cfg.warmup, "warmup", 300*time.Millisecond, "warm-up per kind of measurement")
	flag.IntVar(&cfg.runs, "runs", 3, "runs; the median is reported")
	flag.BoolVar(&cfg.tinygo, "tinygo", false, "also measure the worker's TinyGo build (TINYGO=1 make build)")
	flag.StringVar(&cfg.seedDir, "seed", "", "the seed worker's directory (default ../shared/bench/seed-worker beside the repository)")
	flag.StringVar(&cfg.previous, "previous", "", "also measure the worker as built at this git revision (a tag, a commit) on the paths against the seed worker")
	seedOnly := flag.Bool("seedonly", false, "measure only the worker against the seed worker (and cold starts, the soak)")
	gateway := flag.Int("gateway", 0, "instead, measure what the order gateway adds to this many new orders (docs/downstreams.md#the-order-gateway)")
	queue := flag.Int("queue", 0, "instead, compare queue mode with inline placement through the gateway: this many new orders one at a time, then -runs of -duration at 8 clients (docs/queue-mode.md)")
	gatewayDelay := flag.Duration("gateway-delay", 0, "with -queue, the stand-in gateway's time per call")
	native := flag.Bool("native", false, "instead, measure the native server (cmd/orders-server) on memory, Redis and PostgreSQL against a net/http floor making the same store calls, at -duration and -runs")
	stores := flag.Bool("stores", false, "instead, compare the stores: KV, strict mode on D1 and on Durable Objects, replay and new order (docs/strict-mode.md)")
	flag.Parse()
	if *seedOnly {
		cfg.floor, cfg.breakdown, cfg.d1, cfg.unlogged = false, false, false, false
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *gateway > 0 {
		if err := gatewayLatency(ctx, *gateway, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *native {
		if err := nativeBench(ctx, nativeConfig{duration: cfg.duration, runs: cfg.runs, concs: cfg.concs}, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *stores {
		if err := storesBench(ctx, cfg, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *queue > 0 {
		qcfg := queueConfig{n: *queue, duration: cfg.duration, runs: cfg.runs, conc: 8, delay: *gatewayDelay}
		res, err := queueBench(ctx, qcfg, os.Stdout)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		reportQueue(qcfg, res, os.Stdout)
		return
	}
	start := time.Now()
	res, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	report(cfg, res)
	fmt.Fprintf(cfg.out, "\nwall time: %v\n", time.Since(start).Round(time.Second))
}

// run starts the instances, seeds them, measures and stops them. It fails if
// any response had another status than its path's.
func run(ctx context.Context, cfg config) (*result, error) {
	root, err := devserver.RepoRoot()
	if err != nil {
		return nil, err
	}
	fixtures := filepath.Join(root, "scripts", "bench", "fixtures")
	starts := map[string]func() (devserver.Options, error){
		"worker": func() (devserver.Options, error) { return devserver.Options{}, nil },
	}
	if cfg.floor {
		starts["floor"] = func() (devserver.Options, error) {
			return devserver.Options{WorkerDir: filepath.Join(fixtures, "floor")}, nil
		}
	}
	// Temporary directories of instances, removed at the end.
	var built []string
	defer func() {
		for _, dir := range built {
			os.RemoveAll(dir)
		}
	}()
	var builtMu sync.Mutex
	tempDir := func(name string) (string, error) {
		dir, err := os.MkdirTemp("", "bench-"+name+"-")
		if err == nil {
			builtMu.Lock()
			built = append(built, dir)
			builtMu.Unlock()
		}
		return dir, err
	}
	// start is the start of an instance that runs what build puts into a
	// new temporary directory (the instance runs a copy of it).
	start := func(name string, build func(dir string) error) {
		starts[name] = func() (devserver.Options, error) {
			dir, err := tempDir(name)
			if err != nil {
				return devserver.Options{}, err
			}
			return devserver.Options{WorkerDir: dir}, build(dir)
		}
	}
	res := &result{sizes: map[string][2]int64{}}
	if src, ok, why := seedSource(root, cfg.seedDir); ok {
		starts["seed"] = seedStart(src, true, tempDir)
		starts["seed-published"] = seedStart(src, false, tempDir)
	} else {
		res.noSeed = why
		fmt.Fprintln(os.Stderr, "bench:", why)
	}
	if cfg.breakdown {
		start("emptygo", func(dir string) error {
			return devserver.BuildWorker(dir, "./scripts/bench/fixtures/emptygo", filepath.Join(fixtures, "emptygo", "wrangler.toml"))
		})
		start("perrequest", func(dir string) error {
			return buildWorkerVariant(root, dir, "const RETIRE_AFTER_EVENTS = Infinity;", "const RETIRE_AFTER_EVENTS = 1;")
		})
	}
	if cfg.unlogged {
		start("worker-unlogged", func(dir string) error {
			return buildWorkerVariant(root, dir, `import "./wasm_exec.js";`, "console.log = () => {};\nimport \"./wasm_exec.js\";")
		})
	}
	if cfg.previous != "" {
		start("previous", func(dir string) error { return buildPrevious(root, cfg.previous, dir) })
	}
	if cfg.tinygo {
		start("tinygo", func(dir string) error {
			return devserver.BuildWorker(dir, ".", filepath.Join(root, "wrangler.toml"), "TINYGO=1")
		})
	}
	if cfg.d1 {
		starts["d1cost"] = func() (devserver.Options, error) {
			return devserver.Options{WorkerDir: filepath.Join(fixtures, "d1cost"),
				Setup: [][]string{{"d1", "migrations", "apply", "bench-d1cost"}}}, nil
		}
	}
	servers, err := startAll(starts)
	defer func() {
		for _, s := range servers {
			s.Stop()
		}
	}()
	if err != nil {
		return nil, err
	}

	if res.kvOps, err = kvOpsPerPath(); err != nil {
		return nil, err
	}
	for _, name := range []string{"worker", "tinygo", "emptygo"} {
		if s, ok := servers[name]; ok {
			// The module the instance runs, not the repository's build/,
			// which may have been rebuilt since.
			raw, gz, err := wasmSize(filepath.Join(filepath.Dir(s.StateDir()), "app.wasm"))
			if err != nil {
				return nil, err
			}
			res.sizes[name] = [2]int64{raw, gz}
		}
	}
	if s, ok := servers["d1cost"]; ok {
		if res.d1Steps, err = d1Cost(ctx, s.URL); err != nil {
			return nil, err
		}
	}
	if cfg.cold > 0 {
		res.cold = map[string]map[string][]coldSample{}
		for _, first := range coldFirsts {
			res.cold[first.name] = map[string][]coldSample{}
			for _, name := range coldTargets {
				s, ok := servers[name]
				if !ok {
					continue
				}
				health := http.StatusOK
				if strings.HasPrefix(name, "seed") {
					health = http.StatusMethodNotAllowed
				}
				if res.cold[first.name][name], err = coldStarts(ctx, s, first.req, health, cfg.cold); err != nil {
					return nil, fmt.Errorf("%s cold start, %s: %w", name, first.name, err)
				}
			}
		}
	}

	client := &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
	defer client.CloseIdleConnections()
	// Seed before any traffic: local KV is SQLite, and a wrangler command
	// writing it while the worker writes makes the worker's write fail. The
	// instances have their own state, so they are seeded at once.
	var seedErrs []error
	var seeding sync.WaitGroup
	var seedMu sync.Mutex
	seedWith := func(seedFn func() error) {
		seeding.Go(func() {
			err := seedFn()
			seedMu.Lock()
			seedErrs = append(seedErrs, err)
			seedMu.Unlock()
		})
	}
	for _, name := range []string{"worker", "previous", "tinygo", "floor", "perrequest", "worker-unlogged", "seed", "seed-published"} {
		if s, ok := servers[name]; ok {
			seedWith(func() error {
				err := seed(ctx, client, name, s)
				if err == nil && slices.Contains(seedTargets, name) && servers["seed"] != nil {
					err = seedManyKeys(ctx, name, s)
				}
				return err
			})
		}
	}
	for _, name := range []string{"floor", "emptygo"} {
		if s, ok := servers[name]; ok && cfg.breakdown {
			seedWith(func() error { return placeKVCallsReplay(ctx, client, name, s) })
		}
	}
	seeding.Wait()
	if err := errors.Join(seedErrs...); err != nil {
		return nil, err
	}

	// Each path runs on the worker and the floor back to back, so that both
	// meet the same moment's noise; then on both again, neither logging.
	if cfg.unlogged {
		servers["floor-unlogged"] = servers["floor"] // its POST /unlogged
	}
	for _, p := range paths {
		for _, c := range cfg.concs {
			if !cfg.floor {
				break
			}
			for _, target := range []string{"worker", "tinygo", "floor", "worker-unlogged", "floor-unlogged"} {
				req := p.req
				if target == "floor-unlogged" {
					req.path = "/unlogged"
				}
				if servers[target] != nil {
					res.jobs = append(res.jobs, &job{target: target, name: p.name, conc: c, req: req})
				}
			}
		}
	}
	// The same against the seed worker, on the paths both have.
	for _, p := range seedPaths {
		for _, c := range cfg.concs {
			for _, target := range seedTargets {
				if servers["seed"] != nil && servers[target] != nil {
					res.jobs = append(res.jobs, &job{target: target, name: p.name, conc: c, req: p.req})
				}
			}
		}
	}
	if cfg.breakdown {
		for _, b := range breakdown {
			for _, c := range cfg.concs {
				res.jobs = append(res.jobs, &job{target: b.target, name: b.name, conc: c, req: b.req})
			}
		}
		for _, op := range kvOps {
			res.jobs = append(res.jobs, &job{target: "floor", name: "kvop " + op, conc: 1, req: kvOpRequest(op)})
		}
	}
	if cfg.warmup > 0 {
		for _, j := range res.jobs {
			measure(ctx, client, servers[j.target].URL, j.req, j.conc, cfg.warmup)
		}
	}
	var failures []error
	for r := range cfg.runs {
		for i := range res.jobs {
			j := res.jobs[i]
			if r%2 == 1 { // every other run backwards, so no job always follows the same one
				j = res.jobs[len(res.jobs)-1-i]
			}
			pid := servers[j.target].PID()
			cpuBefore := workerdCPU(pid)
			st := measure(ctx, client, servers[j.target].URL, j.req, j.conc, cfg.duration)
			if st.n > 0 {
				st.cpu = (workerdCPU(pid) - cpuBefore) / time.Duration(st.n)
			}
			if st.bad > 0 {
				failures = append(failures, fmt.Errorf("%s %s c=%d: %d bad answers, first: %s", j.target, j.name, j.conc, st.bad, st.firstBad))
			}
			j.runs = append(j.runs, st)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if cfg.soak > 0 && len(failures) == 0 {
		res.soak = map[string]*soakResult{}
		for _, name := range []string{"worker", "tinygo"} {
			if s, ok := servers[name]; ok {
				if res.soak[name], err = soak(ctx, client, s, cfg.soak, 8); err != nil {
					failures = append(failures, fmt.Errorf("%s soak: %w", name, err))
				}
			}
		}
	}
	return res, errors.Join(failures...)
}

// seed puts the live claim for the 409 path and places the order to replay.
func seed(ctx context.Context, client *http.Client, name string, s *devserver.Server) error {
	if _, err := s.Wrangler(ctx, "kv", "key", "put", "--binding", "ORDERS",
		"pending:"+inFlightKey, inFlightClaim(time.Now())); err != nil {
		return err
	}
	status, err := send(ctx, client, s.URL, request{method: "POST", path: "/orders", body: validOrder, key: fixedKey(replayKey)}, 0)
	if err != nil || status != http.StatusCreated {
		return fmt.Errorf("%s: placing the order to replay: status %d, %v", name, status, err)
	}
	return nil
}

// placeKVCallsReplay places kvcallsReplayKey through s's /kvcalls, so that
// the breakdown's replay steps read a stored key.
func placeKVCallsReplay(ctx context.Context, client *http.Client, name string, s *devserver.Server) error {
	status, err := send(ctx, client, s.URL, request{method: "POST", path: "/kvcalls", body: validOrder, key: fixedKey(kvcallsReplayKey)}, 0)
	if err == nil && status != http.StatusCreated {
		err = fmt.Errorf("%s: placing %s through /kvcalls: status %d", name, kvcallsReplayKey, status)
	}
	return err
}

// startAll starts the instances two at a time: each start waits seconds for
// wrangler, much of it off the CPU, but six at once can starve each other
// past the start timeout on two cores.
func startAll(starts map[string]func() (devserver.Options, error)) (map[string]*devserver.Server, error) {
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		errs    []error
		servers = map[string]*devserver.Server{}
	)
	slots := make(chan struct{}, 2)
	for name, opts := range starts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			o, err := opts()
			var s *devserver.Server
			if err == nil {
				s, err = devserver.Start(o)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("starting %s: %w", name, err))
				return
			}
			servers[name] = s
		}()
	}
	wg.Wait()
	return servers, errors.Join(errs...)
}

// buildWorkerVariant builds the worker into dir and changes one line of its
// glue: "perrequest" retires each Go runtime after one event (a runtime per
// request, as syumai/workers' generated glue runs Go, on the same module);
// "worker-unlogged" silences console.log, to compare with the floor's
// unlogged path.
func buildWorkerVariant(root, dir, from, to string) error {
	if err := devserver.BuildWorker(dir, ".", filepath.Join(root, "wrangler.toml")); err != nil {
		return err
	}
	glue := filepath.Join(dir, "worker.mjs")
	b, err := os.ReadFile(glue)
	if err != nil {
		return err
	}
	if !bytes.Contains(b, []byte(from)) {
		return fmt.Errorf("%s no longer says %q", glue, from)
	}
	return os.WriteFile(glue, bytes.Replace(b, []byte(from), []byte(to), 1), 0o644)
}

func wasmSize(path string) (raw, gz int64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	var c countingWriter
	w := gzip.NewWriter(&c) // the default level, as `gzip` uses
	w.Write(b)
	if err := w.Close(); err != nil {
		return 0, 0, err
	}
	return int64(len(b)), int64(c), nil
}

type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

func d1Cost(ctx context.Context, baseURL string) ([]d1Step, error) {
	statements, err := json.Marshal(map[string]string{
		"get": d1.SQLGet, "claim": d1.SQLClaim, "complete": d1.SQLComplete})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", baseURL+"/run", bytes.NewReader(statements))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("d1cost /run: %d %s (%v)", resp.StatusCode, body, err)
	}
	var steps []d1Step
	return steps, json.Unmarshal(body, &steps)
}

// report prints the medians of the runs as Markdown tables.
func report(cfg config, res *result) {
	out := cfg.out
	med := func(target, name string, conc int) (st stats, ok bool) {
		for _, j := range res.jobs {
			if j.target == target && j.name == name && j.conc == conc {
				return medianStats(j.runs), true
			}
		}
		return stats{}, false
	}
	fmt.Fprintf(out, "## Machine\n\n%s\n\n", machine())
	perPath := func(title, worker, floor string) {
		fmt.Fprintf(out, "## Per path, %s: worker vs floor (median of %d runs of %v each)\n\n", title, cfg.runs, cfg.duration)
		fmt.Fprintln(out, "| path | c | worker req/s | floor req/s | req/s ratio | worker p50 | floor p50 | p50 ratio | worker p99 | floor p99 | p99 ratio |")
		fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|---|---|")
		for _, p := range paths {
			for _, c := range cfg.concs {
				w, _ := med(worker, p.name, c)
				f, _ := med(floor, p.name, c)
				fmt.Fprintf(out, "| %s | %d | %.0f | %.0f | %.2f | %s | %s | %.2f | %s | %s | %.2f |\n", p.name, c,
					w.rps, f.rps, w.rps/f.rps, ms(w.p50), ms(f.p50), ratio(w.p50, f.p50), ms(w.p99), ms(f.p99), ratio(w.p99, f.p99))
			}
		}
	}
	if cfg.floor {
		perPath("both logging the contract's log line", "worker", "floor")
		if cfg.tinygo {
			fmt.Fprintln(out)
			perPath("both logging, the worker's TinyGo build", "tinygo", "floor")
		}
		if cfg.unlogged {
			fmt.Fprintln(out)
			perPath("neither logging", "worker-unlogged", "floor-unlogged")
		}
	}
	reportSeed(cfg, res)
	if cfg.breakdown {
		fmt.Fprintf(out, "\n## Where a request's time goes (median of %d runs)\n\n", cfg.runs)
		fmt.Fprint(out, "| step | ")
		for _, c := range cfg.concs {
			fmt.Fprintf(out, "c=%d req/s | c=%d ms/request (1/req/s) | c=%d workerd CPU/request | c=%d p50 | c=%d p99 | ", c, c, c, c, c)
		}
		fmt.Fprintln(out)
		fmt.Fprintln(out, "|---"+strings.Repeat("|---|---|---|---|---", len(cfg.concs))+"|")
		type row struct{ target, name, label string }
		var rows []row
		for _, b := range breakdown {
			rows = append(rows, row{b.target, b.name, b.name})
		}
		rows = append(rows, row{"floor", paths[0].name, "floor: replay (200), 1 KV get"},
			row{"worker", paths[0].name, "worker: replay (200), one key, from the result cache"})
		if _, ok := med("worker", seedPaths[1].name, cfg.concs[0]); ok {
			rows = append(rows, row{"worker", seedPaths[1].name, "worker: replay (200), many keys, 1 KV get (every read misses the cache)"})
		}
		rows = append(rows,
			row{"floor", paths[1].name, "floor: new order (201), 5 KV calls"},
			row{"worker", paths[1].name, "worker: new order (201), 5 KV calls"})
		for _, row := range rows {
			fmt.Fprintf(out, "| %s | ", row.label)
			for _, c := range cfg.concs {
				st, _ := med(row.target, row.name, c)
				fmt.Fprintf(out, "%.0f | %.2f | %s | %s | %s | ", st.rps, 1000/st.rps, ms(st.cpu), ms(st.p50), ms(st.p99))
			}
			fmt.Fprintln(out)
		}
		fmt.Fprintf(out, "\n## What a KV operation costs workerd under `wrangler dev` (the floor's GET /kvop, %d per request, one client; CPU of workerd's threads per operation, the request without them subtracted; median of %d runs)\n\n", kvOpsPerRequest, cfg.runs)
		fmt.Fprintln(out, "| operation | workerd CPU per operation |\n|---|---|")
		none, _ := med("floor", "kvop none", 1)
		for _, op := range kvOps[1:] {
			st, _ := med("floor", "kvop "+op, 1)
			fmt.Fprintf(out, "| %s | %s |\n", op, ms((st.cpu-none.cpu)/kvOpsPerRequest))
		}
	}
	reportCold(out, res.cold)
	for _, name := range []string{"worker", "tinygo"} {
		sk := res.soak[name]
		if sk == nil {
			continue
		}
		fmt.Fprintf(out, "\n## Soak of the %s: %d requests (replay, new, 409, 422 in turn) at c=8 in %v (%.0f req/s)\n\nstatuses: %v\n\n",
			name, sk.requests, sk.elapsed.Round(time.Second), float64(sk.requests)/sk.elapsed.Seconds(), sk.statuses)
		fmt.Fprintln(out, "| glue's line at event | runtime | runtimes started | Wasm memory of the serving runtime |\n|---|---|---|---|")
		for _, g := range sk.glue {
			fmt.Fprintf(out, "| %d | %d | %d | %.2f MB |\n", g.EventsServed, g.Runtime, g.RuntimesStarted, float64(g.WasmMemoryBytes)/1e6)
		}
		fmt.Fprintln(out, "\n| answers | workerd resident memory (its processes summed) |\n|---|---|")
		for _, r := range sk.rss {
			fmt.Fprintf(out, "| %d | %.1f MB |\n", r.requests, float64(r.bytes)/1e6)
		}
	}
	fmt.Fprintln(out, "\n## Sizes\n\n| module | raw bytes | gzip bytes |\n|---|---|---|")
	for _, name := range []string{"worker", "tinygo", "emptygo"} {
		if s, ok := res.sizes[name]; ok {
			fmt.Fprintf(out, "| %s app.wasm | %d (%.2f MB) | %d (%.2f MB) |\n", name, s[0], float64(s[0])/1e6, s[1], float64(s[1])/1e6)
		}
	}
	fmt.Fprintln(out, "\n## KV operations per request (the order handler over kvstore.Fake)\n\n| path | get | put | delete |\n|---|---|---|---|")
	for _, p := range []string{"replay", "new", "409", "422"} {
		k := res.kvOps[p]
		fmt.Fprintf(out, "| %s | %d | %d | %d |\n", p, k.get, k.put, k.del)
	}
	if len(res.d1Steps) > 0 {
		fmt.Fprintln(out, "\n## D1 per strict-mode statement (local D1, result.meta)\n\n| statement | rows_read | rows_written | changes | rows returned |\n|---|---|---|---|---|")
		for _, s := range res.d1Steps {
			fmt.Fprintf(out, "| %s | %d | %d | %d | %d |\n", s.Name, s.RowsRead, s.RowsWritten, s.Changes, s.Rows)
		}
	}
}

// coldTargets are the instances whose cold starts are timed, in this order.
var coldTargets = []string{"floor", "seed", "worker", "previous", "tinygo", "perrequest"}

// reportCold prints, per first request, each target's cold starts and how
// they compare with the seed worker's in the same run, and checks them
// against the targets of a first event (issue 25): a new order within 1.5×
// the seed's CPU on the isolate's thread, a health check within 10 ms there,
// and the module scope (the reload's CPU beyond the seed's) within 400 ms.
func reportCold(out io.Writer, cold map[string]map[string][]coldSample) {
	if len(cold) == 0 {
		return
	}
	span := func(d []time.Duration) string {
		return fmt.Sprintf("%s (%s–%s)", ms(median(d)), ms(slices.Min(d)), ms(slices.Max(d)))
	}
	field := func(samples []coldSample, f func(coldSample) time.Duration) []time.Duration {
		var d []time.Duration
		for _, c := range samples {
			d = append(d, f(c))
		}
		return d
	}
	isolate := func(c coldSample) time.Duration { return c.isolate }
	reload := func(c coldSample) time.Duration { return c.reload }
	var checks []string
	check := func(ok bool, format string, args ...any) {
		mark := "met"
		if !ok {
			mark = "NOT met"
		}
		checks = append(checks, fmt.Sprintf("- %s: %s", mark, fmt.Sprintf(format, args...)))
	}
	for _, first := range coldFirsts {
		byTarget := cold[first.name]
		seed := byTarget["seed"]
		fmt.Fprintf(out, "\n## Cold start: a fresh isolate's first answer (%s), median (min–max)\n\n", first.name)
		fmt.Fprintln(out, "| worker | wall time | CPU, the isolate's thread | ratio to the seed's | CPU, workerd's other threads | CPU of the reload, the isolate's thread, until the request | samples |\n|---|---|---|---|---|---|---|")
		for _, name := range coldTargets {
			samples := byTarget[name]
			if len(samples) == 0 {
				continue
			}
			r := "–"
			if len(seed) > 0 {
				r = fmt.Sprintf("%.2f", ratio(median(field(samples, isolate)), median(field(seed, isolate))))
			}
			fmt.Fprintf(out, "| %s | %s | %s | %s | %s | %s | %d |\n", name,
				span(field(samples, func(c coldSample) time.Duration { return c.wall })), span(field(samples, isolate)), r,
				span(field(samples, func(c coldSample) time.Duration { return c.others })), span(field(samples, reload)), len(samples))
		}
		for _, name := range []string{"worker", "tinygo"} {
			samples := byTarget[name]
			if len(samples) == 0 {
				continue
			}
			got := median(field(samples, isolate))
			if first.req.path == "/healthz" {
				check(got <= 10*time.Millisecond, "%s, first %s: %s on the isolate's thread (target ≤ 10 ms)", name, first.name, ms(got))
				continue
			}
			if len(seed) > 0 {
				want := median(field(seed, isolate))
				check(ratio(got, want) <= 1.5, "%s, first %s: %.2f× the seed's CPU on the isolate's thread (target ≤ 1.5×)", name, first.name, ratio(got, want))
				module := median(field(samples, reload)) - median(field(seed, reload))
				check(module <= 400*time.Millisecond, "%s: the reload's CPU beyond the seed's, the module scope: %s (target ≤ 400 ms)", name, ms(module))
			}
		}
	}
	if len(checks) > 0 {
		fmt.Fprintln(out, "\n### Cold-start targets (issue 25), in this run\n\n"+strings.Join(checks, "\n"))
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

// machine describes where the figures were measured.
func machine() string {
	cpu, mem := "?", "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem, _, _ = strings.Cut(string(b), "\n")
		mem = strings.Join(strings.Fields(mem)[1:], " ")
	}
	node, _ := exec.Command("node", "--version").Output()
	root, _ := devserver.RepoRoot()
	version := func(pkg string) string {
		var v struct{ Version string }
		b, _ := os.ReadFile(filepath.Join(root, "node_modules", pkg, "package.json"))
		json.Unmarshal(b, &v)
		return v.Version
	}
	return fmt.Sprintf("%d CPUs (%s), MemTotal %s; %s %s/%s; node %s; wrangler %s; workerd %s; %s",
		runtime.NumCPU(), cpu, mem, runtime.Version(), runtime.GOOS, runtime.GOARCH,
		strings.TrimSpace(string(node)), version("wrangler"), version("workerd"), time.Now().UTC().Format(time.RFC3339))
}
