package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/orderintake/edge/idempotency/storeurl"
	"github.com/orderintake/edge/intake"
)

// Bounds of the server's own, beyond the intake's: the time to reach the
// store at start, to read a request's headers and body, and to answer, which
// is also how long a shutdown waits for the requests in flight.
const (
	openTimeout       = 10 * time.Second
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	// writeMargin is added to the gateway's timeout for the write timeout.
	writeMargin  = 15 * time.Second
	cleanupEvery = time.Minute
)

// run is the whole server: it returns the process's exit status once ctx is
// done and the requests in flight have finished.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("orders-server", flag.ContinueOnError)
	flags.SetOutput(stderr)
	addr := flags.String("addr", "127.0.0.1:8080", "address to listen on (port 0 picks a free one)")
	storeURL := flags.String("store", "memory:", "where the idempotency records live: memory:, postgres://… or redis://…")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		// One line, whatever the driver's message spans.
		fmt.Fprintf(stderr, "orders-server: %s\n", strings.Join(strings.Fields(err.Error()), " "))
		return 1
	}

	openCtx, cancel := context.WithTimeout(ctx, openTimeout)
	store, err := storeurl.Open(openCtx, *storeURL, nil)
	cancel()
	if err != nil {
		return fail(err)
	}
	defer store.Close()

	log := &lineWriter{w: stdout}
	handler, placementTimeout := newIntake(store, getenv, log, stderr)
	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		return fail(err)
	}
	// The longest a request can take: a placement may use the whole of
	// PLACEMENT_TIMEOUT_MS.
	longest := placementTimeout + writeMargin
	srv := &http.Server{
		Handler:           serve(handler),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      longest,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
	log.event(serverLine{Event: "listening", Addr: listener.Addr().String(), Store: store.Kind})

	served := make(chan error, 1)
	go func() { served <- srv.Serve(listener) }()
	if store.Cleanup != nil {
		go cleanupLoop(ctx, store.Cleanup, log)
	}

	select {
	case err := <-served:
		return fail(err)
	case <-ctx.Done():
	}
	// Stop accepting, and wait for the requests in flight: each completes
	// or releases its claim before the store closes.
	graceCtx, cancel := context.WithTimeout(context.Background(), longest)
	defer cancel()
	if err := srv.Shutdown(graceCtx); err != nil {
		return fail(fmt.Errorf("shutting down: %w (requests still in flight keep their claims until their lease ends)", err))
	}
	log.event(serverLine{Event: "stopped"})
	return 0
}

// serve is the intake as the server runs it: its request bodies bounded as
// the worker's glue bounds them, and its requests carried on even when the
// client goes away, so that an order being placed is completed and its
// answer stored for the retry, never cut off between the two.
func serve(handler http.Handler) http.Handler {
	return http.MaxBytesHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.ServeHTTP(w, r.WithContext(context.WithoutCancel(r.Context())))
	}), intake.MaxReadBytes)
}

// cleanupLoop deletes expired records every cleanupEvery, in one bounded
// run each, until ctx is done, and logs each run.
func cleanupLoop(ctx context.Context, cleanup func(context.Context) (int, error), log *lineWriter) {
	ticker := time.NewTicker(cleanupEvery)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		start := time.Now()
		deleted, err := cleanup(ctx)
		elapsed := time.Since(start).Milliseconds()
		line := serverLine{Event: "cleanup", Deleted: &deleted, ElapsedMs: &elapsed}
		if err != nil && !errors.Is(err, context.Canceled) {
			line.Error = err.Error()
		}
		log.event(line)
	}
}
