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
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	idemkv "github.com/orderintake/edge/idempotency/kv"
	"github.com/orderintake/edge/intake"
	"github.com/orderintake/edge/kvstore"
	"github.com/orderintake/edge/order"
	"github.com/orderintake/edge/scripts/internal/devserver"
)

// The seed worker is the TypeScript worker this project started from, kept
// outside the repository (../shared/bench/seed-worker, with a README) only to
// be measured against; it is never copied into the repository. The bench runs
// it from a temporary copy made at run time, in two forms:
//
//   - "seed": as it lies there, with the contract's log line (docs/contract.md#logs) added, the baseline
//     (the same logging cost on both sides);
//   - "seed-published": the seed as published, that is without the log line
//     (its README names two changes from the original: the log line, and the
//     pending TTL raised from 30 s to 60 s because KV refuses 30 and every
//     new order then fails; the TTL change stays).
//
// "seed" runs the seed's own file where it lies (its temporary directory
// holds its wrangler.toml and a worker.mjs that re-exports it, the file a
// cold start touches to reload); "seed-published" runs a copy without the
// log line.
//
// It answers every GET with 405, so its instances are started expecting
// that of GET /healthz.

// manyKeys is how many keys the many-key replay cycles through: more than
// RESULT_CACHE_ENTRIES' default (1000) holds, so that with least recently
// used eviction every read misses the worker's cache.
const manyKeys = 3000

func manyKey(i int64) string { return fmt.Sprintf("bench-many-%d", i) }

// seedPaths are the paths measured against the seed worker. It validates and
// fingerprints nothing on a replay, so only the paths it shares with the
// worker are compared.
var seedPaths = []struct {
	name string
	req  request
}{
	{"replay, one key (200)", paths[0].req},
	{"replay, many keys (200)", request{method: "POST", path: "/orders", body: validOrder,
		key: func(n int64) string { return manyKey(n % manyKeys) }, want: 200}},
	{"new order (201)", paths[1].req},
}

// seedTargets are the instances the seed paths run on, in this order.
var seedTargets = []string{"worker", "previous", "tinygo", "seed", "seed-published"}

// seedSource is where the seed worker lies: dir when set, else
// ../shared/bench/seed-worker beside the repository. ok is false, with a
// sentence saying why, when it is not there.
func seedSource(root, dir string) (string, bool, string) {
	if dir == "" {
		dir = filepath.Join(root, "..", "shared", "bench", "seed-worker")
	}
	if _, err := os.Stat(filepath.Join(dir, "wrangler.toml")); err != nil {
		return dir, false, fmt.Sprintf("no seed worker at %s (%v): the comparison with the seed is skipped", dir, err)
	}
	return dir, true, ""
}

// prepareSeed puts the seed worker's wrangler.toml into dir and a worker.mjs
// that only re-exports the seed: the seed's own file when logged, else a
// copy of it in dir without the log line. devserver runs a WorkerDir's
// worker.mjs, and wrangler bundles the TypeScript it imports as it would the
// seed's own main.
func prepareSeed(src, dir string, logged bool) error {
	var config struct{ main string }
	toml, err := os.ReadFile(filepath.Join(src, "wrangler.toml"))
	if err != nil {
		return err
	}
	for line := range strings.Lines(string(toml)) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "main"); ok {
			_, value, _ := strings.Cut(rest, "=")
			config.main = strings.Trim(strings.TrimSpace(value), `"'`)
		}
	}
	if config.main == "" || strings.ContainsAny(config.main, `/\`) {
		return fmt.Errorf("%s: want a main file beside wrangler.toml, got %q", src, config.main)
	}
	if err := os.WriteFile(filepath.Join(dir, "wrangler.toml"), toml, 0o644); err != nil {
		return err
	}
	main, err := filepath.Abs(filepath.Join(src, config.main))
	if err != nil {
		return err
	}
	if !logged {
		code, err := os.ReadFile(main)
		if err != nil {
			return err
		}
		var kept bytes.Buffer
		removed := 0
		for line := range strings.Lines(string(code)) {
			if strings.Contains(line, "console.log(") {
				removed++
				continue
			}
			kept.WriteString(line)
		}
		// One line on a replay, one on a new order.
		if removed != 2 {
			return fmt.Errorf("%s: found %d console.log lines, want the 2 of the log line", config.main, removed)
		}
		main = filepath.Join(dir, config.main)
		if err := os.WriteFile(main, kept.Bytes(), 0o644); err != nil {
			return err
		}
	}
	reexport := fmt.Sprintf("export { default } from %q;\n", main)
	return os.WriteFile(filepath.Join(dir, "worker.mjs"), []byte(reexport), 0o644)
}

// seedStart is the start of a seed instance from a copy of src.
func seedStart(src string, logged bool, tempDir func(string) (string, error)) func() (devserver.Options, error) {
	return func() (devserver.Options, error) {
		name := "seed"
		if !logged {
			name = "seed-published"
		}
		dir, err := tempDir(name)
		if err != nil {
			return devserver.Options{}, err
		}
		return devserver.Options{WorkerDir: dir, HealthStatus: http.StatusMethodNotAllowed}, prepareSeed(src, dir, logged)
	}
}

// kvEntry is one entry of `wrangler kv bulk put`'s file.
type kvEntry struct {
	Key           string `json:"key"`
	Value         string `json:"value"`
	ExpirationTTL int    `json:"expiration_ttl"`
}

// manyKeyRecords are the KV entries of manyKeys completed orders of
// validOrder, in the format target stores them: the worker's records come
// from its own handler, run natively over kvstore.Fake; the seed's are its
// result:<key> receipts.
func manyKeyRecords(target string) ([]kvEntry, error) {
	entries := make([]kvEntry, 0, manyKeys)
	if strings.HasPrefix(target, "seed") {
		for i := range int64(manyKeys) {
			receipt, _ := json.Marshal(map[string]any{"orderId": fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
				"status": "accepted", "symbol": "MSFT", "side": "buy", "quantity": 100,
				"acceptedAt": time.Now().UTC().Format("2006-01-02T15:04:05.000Z")})
			entries = append(entries, kvEntry{"result:" + manyKey(i), string(receipt), 86400})
		}
		return entries, nil
	}
	kv := kvstore.NewFake(time.Now)
	settings, err := intake.ParseSettings(func(string) string { return "" })
	if err != nil {
		return nil, err
	}
	h := intake.New(intake.Config{Store: idemkv.Store{KV: kv}, Placer: order.MintReceipt{Now: time.Now},
		Settings: settings, Log: io.Discard})
	for i := range int64(manyKeys) {
		req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(validOrder))
		req.Header.Set("Idempotency-Key", manyKey(i))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		value, ok := kv.Stored(idemkv.ResultPrefix + manyKey(i))
		if rec.Code != http.StatusCreated || !ok {
			return nil, fmt.Errorf("placing %s natively: %d %s", manyKey(i), rec.Code, rec.Body)
		}
		entries = append(entries, kvEntry{idemkv.ResultPrefix + manyKey(i), value, int(settings.ResultTTL.Seconds())})
	}
	return entries, nil
}

// seedManyKeys stores the many-key replay's records into s's local KV with
// one `wrangler kv bulk put`, before any traffic. An earlier version of the
// worker ("previous") places them itself instead, so that its records are
// in its own format, whatever that was.
func seedManyKeys(ctx context.Context, name string, s *devserver.Server) error {
	if name == "previous" {
		return placeManyKeys(ctx, s)
	}
	entries, err := manyKeyRecords(name)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp("", "bench-many-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	err = json.NewEncoder(f).Encode(entries)
	if err = errors.Join(err, f.Close()); err != nil {
		return err
	}
	if _, err := s.Wrangler(ctx, "kv", "bulk", "put", f.Name(), "--binding", "ORDERS"); err != nil {
		return fmt.Errorf("%s: seeding the many-key replay: %w", name, err)
	}
	return nil
}

// reportSeed prints the paths against the seed worker: for each target the
// median requests/s, p50 and p99, and its ratio to the seed with the log line
// (the baseline) and to the seed as published, as the ratio of the medians
// and, in brackets, the lowest and highest ratio of one run's back-to-back
// measurements.
func reportSeed(cfg config, res *result) {
	out := cfg.out
	if res.noSeed != "" {
		fmt.Fprintf(out, "\n## Against the seed worker\n\nSkipped: %s.\n", res.noSeed)
		return
	}
	fmt.Fprintf(out, "\n## Against the seed worker (median of %d runs of %v each; ratios of requests/s, [lowest–highest of one run's])\n\n", cfg.runs, cfg.duration)
	fmt.Fprintln(out, "| path | c | target | req/s | ÷ seed (logged) | ÷ seed as published | p50 | p99 | workerd CPU/request |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|")
	for _, p := range seedPaths {
		for _, c := range cfg.concs {
			seed, published := runsOf(res.jobs, "seed", p.name, c), runsOf(res.jobs, "seed-published", p.name, c)
			for _, target := range seedTargets {
				runs := runsOf(res.jobs, target, p.name, c)
				if len(runs) == 0 {
					continue
				}
				var rps []float64
				var p50, p99, cpu []time.Duration
				for _, r := range runs {
					rps, p50, p99, cpu = append(rps, r.rps), append(p50, r.p50), append(p99, r.p99), append(cpu, r.cpu)
				}
				fmt.Fprintf(out, "| %s | %d | %s | %.0f | %s | %s | %s | %s | %s |\n", p.name, c, target, median(rps),
					runRatios(runs, seed), runRatios(runs, published), ms(median(p50)), ms(median(p99)), ms(median(cpu)))
			}
		}
	}
}

// runRatios is the ratio of the median requests/s of runs to base's, and
// the lowest and highest ratio of the i-th run of each.
func runRatios(runs, base []stats) string {
	if len(base) != len(runs) || len(runs) == 0 {
		return "–"
	}
	var a, b, each []float64
	for i := range runs {
		a, b = append(a, runs[i].rps), append(b, base[i].rps)
		each = append(each, runs[i].rps/base[i].rps)
	}
	return fmt.Sprintf("%.2f [%.2f–%.2f]", median(a)/median(b), slices.Min(each), slices.Max(each))
}

// placeManyKeys places the many-key replay's orders through s, eight at a
// time.
func placeManyKeys(ctx context.Context, s *devserver.Server) error {
	client := &http.Client{Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	keys := make(chan int64)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			var err error
			for i := range keys {
				if err != nil {
					continue
				}
				req := request{method: "POST", path: "/orders", body: validOrder, key: func(int64) string { return manyKey(i) }}
				var status int
				if status, err = send(ctx, client, s.URL, req, 0); err == nil && status != http.StatusCreated {
					err = fmt.Errorf("previous: placing %s: status %d", manyKey(i), status)
				}
			}
			errs <- err
		}()
	}
	for i := range int64(manyKeys) {
		keys <- i
	}
	close(keys)
	var all []error
	for range 8 {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}

// buildPrevious builds the worker as it was at git revision rev into dir,
// with that revision's own Makefile and wrangler.toml, from a detached
// worktree of the repository removed afterwards.
func buildPrevious(root, rev, dir string) error {
	tmp, err := os.MkdirTemp("", "bench-previous-src-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "tree")
	if out, err := exec.Command("git", "-C", root, "worktree", "add", "--detach", src, rev).CombinedOutput(); err != nil {
		return fmt.Errorf("checking out %s: %v\n%s", rev, err, out)
	}
	defer exec.Command("git", "-C", root, "worktree", "remove", "--force", src).Run()
	if err := devserver.BuildWorkerFrom(src, dir, ".", filepath.Join(src, "wrangler.toml")); err != nil {
		return fmt.Errorf("building %s: %w", rev, err)
	}
	return nil
}
