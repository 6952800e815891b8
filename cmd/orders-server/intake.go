package main

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/orderintake/edge/idempotency/storeurl"
	"github.com/orderintake/edge/intake"
)

// newIntake is the order intake over store, with the worker's settings read
// through getenv and its log lines written to log (a misconfiguration also
// to stderr, at once), and the gateway's timeout, which bounds the server's
// write timeout.
func newIntake(store *storeurl.Store, getenv func(string) string, log, stderr io.Writer) (http.Handler, time.Duration) {
	settings, misconfigured := intake.ParseSettings(getenv)
	if misconfigured != nil {
		fmt.Fprintf(stderr, "orders-server: every order will be answered 500 misconfigured: %v\n", misconfigured)
	} else if settings.Clients == nil {
		fmt.Fprintln(log, intake.OpenWarning)
	}
	return intake.New(intake.Config{Settings: settings, Misconfigured: misconfigured, Store: store,
		Fetch: fetch, Log: log}), settings.PlacementTimeout
}

// fetch sends one request to the order gateway, giving up after timeout,
// reading the answer included.
func fetch(req *http.Request, timeout time.Duration) (*http.Response, error) {
	return (&http.Client{Timeout: timeout}).Do(req)
}
