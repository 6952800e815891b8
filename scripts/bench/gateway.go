//go:build unix

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"time"

	"github.com/orderintake/edge/scripts/internal/devserver"
	"github.com/orderintake/edge/scripts/internal/oms"
)

// gatewayLatency measures what placing through the order gateway adds to a
// new order: two workers, one with PLACEMENT_URL set to the stand-in on
// loopback and one without, each sent n new orders one at a time,
// alternating between them so that the machine's noise hits both alike.
func gatewayLatency(ctx context.Context, n int, out io.Writer) error {
	standIn := httptest.NewServer(oms.New("", oms.Plan{}, nil))
	defer standIn.Close()
	servers, err := startAll(map[string]func() (devserver.Options, error){
		"mint": func() (devserver.Options, error) { return devserver.Options{}, nil },
		"gateway": func() (devserver.Options, error) {
			return devserver.Options{Vars: map[string]string{"PLACEMENT_URL": standIn.URL + "/orders"}}, nil
		},
	})
	for _, s := range servers {
		defer s.Stop()
	}
	if err != nil {
		return err
	}
	client := &http.Client{}
	names := []string{"mint", "gateway"}
	latencies := map[string][]time.Duration{}
	const warmup = 20
	for i := range int64(n + warmup) {
		for _, name := range names {
			req := request{method: "POST", path: "/orders", body: validOrder, want: http.StatusCreated,
				key: func(i int64) string { return fmt.Sprintf("latency-%s-%d-%d", name, os.Getpid(), i) }}
			start := time.Now()
			status, err := send(ctx, client, servers[name].URL, req, i)
			took := time.Since(start)
			if err != nil || status != req.want {
				return fmt.Errorf("%s: new order %d: status %d, %v", name, i, status, err)
			}
			if i >= warmup {
				latencies[name] = append(latencies[name], took)
			}
		}
	}
	fmt.Fprintf(out, "new orders, one at a time, %d each after %d warm-up, alternating (%s)\n", n, warmup, machine())
	for _, name := range names {
		sorted := slices.Sorted(slices.Values(latencies[name]))
		fmt.Fprintf(out, "%-8s p50 %s  p90 %s  p99 %s\n", name, ms(median(sorted)), ms(percentile(sorted, 0.9)), ms(percentile(sorted, 0.99)))
	}
	fmt.Fprintf(out, "added by the gateway call, p50: %s\n", ms(median(latencies["gateway"])-median(latencies["mint"])))
	return nil
}
