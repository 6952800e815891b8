//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The glue starts the Go runtime at module scope, when the isolate loads,
// and logs runtime_started with at "module"; where the platform refuses that
// start, the first event starts it ("event") after one runtime_start_deferred
// line (isolate/worker.mjs, docs/runtime.md#where-the-runtime-starts).
// wrangler dev loads the worker in a fresh isolate whenever its module
// changes, so each case below edits the instance's glue and sends that
// isolate's first event.

var (
	// reloadWorker is reloaded by its test: no other test shares it.
	reloadWorker = &worker{name: "reload"}
	// refusedWorker is reloaded by its test with a glue whose module-scope
	// start throws.
	refusedWorker = &worker{name: "refused"}
	// diedWorker is reloaded by its test with a glue whose runtime dies
	// while it starts at module scope.
	diedWorker = &worker{name: "died"}
)

// refuseModuleScopeStart makes the glue's start at module scope throw, as a
// platform that refuses it would: Math.random, the start's only source of
// random bytes there, throws until the module has been evaluated.
func refuseModuleScopeStart(glue string) string {
	const start = "// The start at module scope."
	if !strings.Contains(glue, start) || !strings.HasSuffix(strings.TrimSpace(glue), "export default { fetch: onFetch, scheduled: onScheduled, queue: onQueue };") {
		panic("isolate/worker.mjs no longer has the lines this test edits")
	}
	glue = strings.Replace(glue, start, `const random = Math.random;
Math.random = () => { throw new Error("refused for the test"); };
`+start, 1)
	return glue + "\nMath.random = random;\n"
}

// dieInModuleScopeStart makes the runtime started at module scope die while
// it rehearses the handover, as a runtime that traps there would.
func dieInModuleScopeStart(glue string) string {
	const handovers = "this.send(EVENT_NOTHING, 0, 0);"
	if !strings.Contains(glue, handovers) {
		panic("isolate/worker.mjs no longer has the line this test edits")
	}
	return strings.Replace(glue, handovers, `this.die("died for the test");`, 1)
}

// reload rewrites w's glue with edit (nil: unchanged) and a comment, so that
// wrangler loads it into a new isolate, and waits until it has. It returns
// the length of w's log before the reload.
func reload(t *testing.T, w *worker, n int, edit func(string) string) int {
	t.Helper()
	glue := filepath.Join(filepath.Dir(w.srv.StateDir()), "worker.mjs")
	// Each reload edits the glue as built, kept beside it.
	built := glue + ".built"
	b, err := os.ReadFile(built)
	if err != nil {
		if b, err = os.ReadFile(glue); err == nil {
			err = os.WriteFile(built, b, 0o644)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if edit != nil {
		text = edit(text)
	}
	const ready = "Local server updated and ready"
	w.traffic.Lock()
	defer w.traffic.Unlock()
	logged := w.srv.Log()
	if err := os.WriteFile(glue, fmt.Appendf([]byte(text), "\n// reload %d\n", n), 0o644); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); strings.Count(w.srv.Log(), ready) == strings.Count(logged, ready); {
		if time.Now().After(deadline) {
			t.Fatalf("wrangler did not reload the worker within 60 s; log tail:\n%s", w.srv.LogTail(20))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return len(logged)
}

// runtimeLines are the glue's lines about where runtimes started, logged
// after the first from bytes of w's log.
func runtimeLines(w *worker, from int) []string {
	var lines []string
	for line := range strings.Lines(w.srv.Log()[from:]) {
		if strings.Contains(line, `"event":"runtime_start`) {
			lines = append(lines, strings.TrimSpace(line))
		}
	}
	return lines
}

func TestFirstEventAfterAReload(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		w    *worker
		edit func(string) string
		// want are the runtime lines a reload and its first event log, in order.
		want []string
	}{
		{"module scope", reloadWorker, nil, []string{`{"event":"runtime_started","runtime":1,"at":"module"}`}},
		{"refused at module scope", refusedWorker, refuseModuleScopeStart, []string{
			`{"event":"runtime_start_deferred","error":"the Go runtime did not start: Error: refused for the test"}`,
			`{"event":"runtime_started","runtime":1,"at":"event"}`}},
		{"died while starting at module scope", diedWorker, dieInModuleScopeStart, []string{
			`{"event":"runtime_start_deferred","error":"the Go runtime did not start: died for the test"}`,
			`{"event":"runtime_started","runtime":1,"at":"event"}`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := c.w.get(t)
			placed := newKey()
			original := post(t, w, placed, msft)
			wantReceipt(t, original, placed, msftOrder)
			inFlight := newKey()
			kvPut(t, w, map[string]string{"pending:" + inFlight: claimRecord(t, msftOrder, time.Now(), time.Now().Add(time.Hour))})
			firsts := []struct {
				name string
				send func() reply
				want func(reply)
			}{
				{"a new order", func() reply { return post(t, w, "first-"+newKey(), msft) }, func(r reply) {
					if r.status != http.StatusCreated {
						t.Errorf("a new order: %s, want 201", r)
					}
				}},
				{"a replay", func() reply { return post(t, w, placed, msft) }, func(r reply) { wantReplay(t, r, original.body) }},
				{"a key in flight", func() reply { return post(t, w, inFlight, msft) }, func(r reply) {
					wantError(t, r, http.StatusConflict, "in_progress", "retryAfter")
				}},
				{"an invalid order", func() reply { return post(t, w, newKey(), `{"symbol":"MSFT","side":"hold","quantity":100}`) }, func(r reply) {
					wantError(t, r, http.StatusUnprocessableEntity, "invalid_order", "fields")
				}},
			}
			for i, first := range firsts {
				from := reload(t, w, i, c.edit)
				first.want(first.send())
				// The deferred line comes a microtask after the module's
				// evaluation, the started line before or with the first answer.
				deadline := time.Now().Add(10 * time.Second)
				for len(runtimeLines(w, from)) < len(c.want) && time.Now().Before(deadline) {
					time.Sleep(50 * time.Millisecond)
				}
				if got := runtimeLines(w, from); strings.Join(got, "\n") != strings.Join(c.want, "\n") {
					t.Errorf("%s as the first event: the glue logged\n%s\nwant\n%s", first.name, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
				}
			}
		})
	}
}
