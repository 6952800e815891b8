package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/storeurl"
	"github.com/orderintake/edge/order"
)

// maxReadBytes bounds a request body as the worker's glue bounds it.
const maxReadBytes = order.MaxReadBytes

// newIntake is the order intake over store, with the worker's settings read
// through getenv and its log lines written to log (a misconfiguration also
// to stderr, at once), and the gateway's timeout, which bounds the server's
// write timeout.
func newIntake(store *storeurl.Store, getenv func(string) string, log, stderr io.Writer) (http.Handler, time.Duration) {
	settings, misconfigured := order.ParseSettings(getenv)
	if misconfigured != nil {
		fmt.Fprintf(stderr, "orders-server: every order will be answered 500 misconfigured: %v\n", misconfigured)
	} else if settings.Clients == nil {
		fmt.Fprintln(log, order.OpenWarning)
	}
	engine := &idempotency.Engine{Store: store, Lease: settings.Lease, Retention: settings.ResultTTL, Now: time.Now,
		Cache: idempotency.NewResultCache(settings.ResultCacheEntries)}
	var placer order.Placer = order.MintReceipt{Now: time.Now}
	if settings.PlacementURL != "" {
		placer = order.Gateway{URL: settings.PlacementURL, Token: settings.PlacementToken,
			Timeout: settings.PlacementTimeout, Fetcher: order.FetchFunc(fetch), Now: time.Now}
	}
	return order.NewHandler(order.Config{Engine: engine, Placer: placer, Settings: settings,
		Misconfigured: misconfigured, Log: log}), settings.PlacementTimeout
}

// maxAnswerBytes bounds how much of the gateway's answer is read.
const maxAnswerBytes = 64 << 10

// fetch sends one request to the order gateway and reads its answer into
// memory, giving up after timeout.
func fetch(req *http.Request, timeout time.Duration) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), timeout)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}
