//go:build unix

// Command race fires concurrent duplicates of one order at the worker and
// reports what got through: per round, N identical POSTs under one fresh
// Idempotency-Key, released at the same instant.
//
//	go run ./scripts/race -n 20 -rounds 20                  # starts its own worker
//	go run ./scripts/race -strict                           # the same in strict mode (D1)
//	go run ./scripts/race -durable                          # strict mode on Durable Objects
//	go run ./scripts/race -url http://127.0.0.1:8787 -log wrangler.log
//
// Without -url it starts a worker with internal/devserver (any further
// arguments go to wrangler dev) and counts placements from its log.
// With -url it counts them from the file named by -log, the captured output
// of that worker's wrangler dev; without -log, placements are unknown.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/orderintake/edge/scripts/internal/devserver"
	"github.com/orderintake/edge/scripts/internal/race"
)

func main() {
	n := flag.Int("n", 20, "concurrent requests per round")
	rounds := flag.Int("rounds", 20, "rounds, one fresh Idempotency-Key each")
	url := flag.String("url", "", "a running worker's base URL; empty starts one")
	logFile := flag.String("log", "", "with -url: the worker's wrangler dev output, to count placements")
	body := flag.String("order", race.DefaultOrder, "the order every request sends")
	strict := flag.Bool("strict", false, "start the worker in strict mode (records in a local D1)")
	durable := flag.Bool("durable", false, "start the worker in strict mode on Durable Objects")
	flag.Parse()
	if *url != "" && (*strict || *durable || flag.NArg() > 0) {
		fmt.Fprintln(os.Stderr, "race: -strict, -durable and wrangler arguments are for a worker started here; they do not go with -url")
		os.Exit(2)
	}
	opts := devserver.Options{Args: flag.Args()}
	switch {
	case *strict && *durable:
		fmt.Fprintln(os.Stderr, "race: -strict or -durable, not both")
		os.Exit(2)
	case *strict:
		opts = devserver.StrictMode(opts)
	case *durable:
		opts = devserver.DurableMode(opts)
	}
	if err := run(*url, *logFile, race.Config{N: *n, Rounds: *rounds, Order: *body}, opts); err != nil {
		fmt.Fprintln(os.Stderr, "race:", err)
		os.Exit(1)
	}
}

func run(url, logFile string, cfg race.Config, opts devserver.Options) error {
	switch {
	case url != "" && logFile != "":
		cfg.Log = func() (string, error) {
			b, err := os.ReadFile(logFile)
			return string(b), err
		}
	case url == "":
		if logFile != "" {
			return fmt.Errorf("-log goes with -url; a worker started here is read directly")
		}
		srv, err := devserver.Start(opts)
		if err != nil {
			return err
		}
		defer srv.Stop()
		fmt.Fprintf(os.Stderr, "race: started a worker at %s (log: %s)\n", srv.URL, srv.LogPath())
		url = srv.URL
		cfg.Log = func() (string, error) { return srv.Log(), nil }
	}
	cfg.URL = url
	// On Ctrl-C, devserver stops the worker it started and the run ends there.
	res, err := race.Run(context.Background(), cfg)
	fmt.Print(res)
	return err
}
