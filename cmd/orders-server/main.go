// Command orders-server serves the order intake as a native Go server, off
// the edge, with its records in PostgreSQL, Redis or memory:
//
//	go run ./cmd/orders-server -addr 127.0.0.1:8080 -store postgres://user:pass@db:5432/orders
//	go run ./cmd/orders-server -store redis://127.0.0.1:6379/0
//	go run ./cmd/orders-server -store memory:
//
// It answers the worker's HTTP contract (docs/contract.md) through the same
// intake code, reads the same settings from its environment (CLIENT_TOKENS,
// PLACEMENT_URL, PENDING_LEASE_SECONDS, …) and writes the same JSON log
// lines, one per event, on standard output. SIGTERM or SIGINT shuts it down
// gracefully: it stops accepting, lets the requests in flight finish (their
// claims are completed or released, not left to their lease) and exits.
// A store it cannot reach at start is one line on standard error and exit
// status 1.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
