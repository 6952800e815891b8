//go:build unix

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/orderintake/edge/internal/testservers"
	"github.com/orderintake/edge/scripts/internal/devserver"
)

// nativeConfig is one run of the native server's benchmark.
type nativeConfig struct {
	duration time.Duration // of each measurement
	runs     int           // the median of these is reported
	concs    []int
}

// nativeTargets are what is measured on each store: the floor (a bare
// net/http handler making the same store operations), the native server
// with its result cache off, so that a replay reads the store as the
// floor's does, and the server as it runs by default.
var nativeTargets = []struct {
	name, label string
	opts        func(store string) devserver.Options
}{
	{"floor", "floor: net/http + the store's calls", func(store string) devserver.Options {
		return devserver.Options{Native: store, NativePkg: "./scripts/bench/fixtures/nativefloor"}
	}},
	{"server", "orders-server, result cache off", func(store string) devserver.Options {
		return devserver.Options{Native: store, Vars: map[string]string{"RESULT_CACHE_ENTRIES": "0"}}
	}},
	{"server-cached", "orders-server, default result cache", func(store string) devserver.Options {
		return devserver.Options{Native: store}
	}},
}

// nativeStores are the stores measured, each with the URL of a server
// this run starts unless the environment names one.
var nativeStores = []struct {
	name, env string
	start     func() (*testservers.Server, error)
}{
	{"memory", "", nil},
	{"redis", "REDIS_URL", func() (*testservers.Server, error) { return testservers.NewRedis(false) }},
	{"postgres", "DATABASE_URL", testservers.NewPostgres},
}

// nativeBench measures new orders and replays on the native server over
// each store, beside the floor on the same store, the targets taking turns
// run by run so that the machine's noise hits them alike, and writes a
// table per store.
func nativeBench(ctx context.Context, cfg nativeConfig, out io.Writer) error {
	fmt.Fprintf(out, "# The native server against its floor\n\n%s; each figure the median of %d runs of %v; PostgreSQL and Redis started by the run on loopback (PostgreSQL with fsync off, Redis without persistence) unless DATABASE_URL / REDIS_URL name one.\n",
		machine(), cfg.runs, cfg.duration)
	for _, st := range nativeStores {
		url, stop, err := nativeStoreURL(st.name, st.env, st.start)
		if err != nil {
			return err
		}
		err = nativeBenchStore(ctx, cfg, st.name, url, out)
		stop()
		if err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
	}
	return nil
}

func nativeStoreURL(name, env string, start func() (*testservers.Server, error)) (string, func(), error) {
	if start == nil {
		return "memory:", func() {}, nil
	}
	if url := os.Getenv(env); url != "" {
		return url, func() {}, nil
	}
	s, err := start()
	if err != nil {
		return "", nil, fmt.Errorf("starting %s: %w", name, err)
	}
	return s.URL, s.Stop, nil
}

func nativeBenchStore(ctx context.Context, cfg nativeConfig, store, url string, out io.Writer) error {
	servers := map[string]*devserver.Server{}
	defer func() {
		for _, s := range servers {
			s.Stop()
		}
	}()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	paths := map[string]func(target string) request{
		"new order (201)": func(target string) request {
			return request{method: "POST", path: "/orders", body: validOrder, key: freshKey("native-" + store + "-" + target), want: http.StatusCreated}
		},
		"replay (200)": func(target string) request {
			return request{method: "POST", path: "/orders", body: validOrder, key: fixedKey(fmt.Sprintf("bench-native-replay-%s-%d", target, os.Getpid())), want: http.StatusOK}
		},
	}
	for _, target := range nativeTargets {
		s, err := devserver.Start(target.opts(url))
		if err != nil {
			return fmt.Errorf("starting %s: %w", target.name, err)
		}
		servers[target.name] = s
		replay := paths["replay (200)"](target.name)
		seed := replay
		seed.want = http.StatusCreated
		if status, err := send(ctx, client, s.URL, seed, 0); err != nil || status != seed.want {
			return fmt.Errorf("%s: placing the replay's order: %d %v", target.name, status, err)
		}
	}
	fmt.Fprintf(out, "\n## %s\n\n| path | clients | target | req/s | p50 | p99 | p50 / floor's |\n|---|---|---|---|---|---|---|\n", store)
	for _, path := range []string{"new order (201)", "replay (200)"} {
		for _, conc := range cfg.concs {
			runs := map[string][]stats{}
			for range cfg.runs {
				for _, target := range nativeTargets {
					st := measure(ctx, client, servers[target.name].URL, paths[path](target.name), conc, cfg.duration)
					if st.bad > 0 {
						return fmt.Errorf("%s, %s: %d bad answers, e.g. %s", target.name, path, st.bad, st.firstBad)
					}
					runs[target.name] = append(runs[target.name], st)
				}
			}
			floor := medianStats(runs["floor"])
			for _, target := range nativeTargets {
				m := medianStats(runs[target.name])
				fmt.Fprintf(out, "| %s | %d | %s | %.0f | %s | %s | %.2f |\n", path, conc, target.label, m.rps, ms(m.p50), ms(m.p99), ratio(m.p50, floor.p50))
			}
		}
	}
	return nil
}
