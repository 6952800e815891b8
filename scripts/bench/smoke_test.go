//go:build e2e && unix

package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestSmoke runs the harness's worker-against-floor measurements, and those
// against the seed worker when ../shared has it, for about a second each, so
// that they cannot rot: run fails if any response had another
// status than its path's, and every measurement must have had answers. It
// asserts nothing about speed. The breakdown and D1 fixtures cost three more
// instance starts and two Wasm builds, so only `make bench` runs them; one
// cold start each and a short soak are run.
func TestSmoke(t *testing.T) {
	var out strings.Builder
	cfg := config{duration: 40 * time.Millisecond, runs: 1, concs: []int{1, 8}, floor: true, breakdown: false, d1: false, cold: 1, soak: 400, out: &out}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	res, err := run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := len(paths) * 2 * len(cfg.concs)
	if res.noSeed == "" { // the worker, the seed and the seed as published
		want += len(seedPaths) * 3 * len(cfg.concs)
	}
	if len(res.jobs) != want {
		t.Errorf("%d measurements, want %d", len(res.jobs), want)
	}
	for _, j := range res.jobs {
		if len(j.runs) != 1 || j.runs[0].n == 0 {
			t.Errorf("%s %s c=%d: no answers", j.target, j.name, j.conc)
		}
	}
	if res.sizes["worker"][1] == 0 {
		t.Errorf("sizes not measured: %v", res.sizes)
	}
	for _, first := range coldFirsts {
		if len(res.cold[first.name]["worker"]) != 1 || len(res.cold[first.name]["floor"]) != 1 {
			t.Errorf("cold starts of a first %s not measured: %v", first.name, res.cold)
		}
	}
	if sk := res.soak["worker"]; sk == nil || sk.requests != cfg.soak || len(sk.rss) != 0 {
		t.Errorf("soak: %+v, want %d requests and no memory sample below 10,000", sk, cfg.soak)
	}
	report(cfg, res) // must not panic on a run's figures
	if !strings.Contains(out.String(), "| replay (200) | 8 |") {
		t.Errorf("report lacks the replay row:\n%s", out.String())
	}
}
