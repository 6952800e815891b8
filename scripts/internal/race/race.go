// Package race fires concurrent duplicates of one order at a running worker
// and measures what the idempotency layer let through: per round, N identical
// POSTs under one fresh Idempotency-Key, released at the same instant.
//
// Placements are counted from the worker's log (event "placed" or
// "result_write_error", both mean the order was placed), since a response can
// be lost while its order still exists.
package race

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// DefaultOrder is the body every request of a run sends.
const DefaultOrder = `{"symbol":"MSFT","side":"buy","quantity":100}`

// Config describes one run.
type Config struct {
	URL    string // the worker's base URL; requests go to URL+"/orders"
	N      int    // concurrent requests per round
	Rounds int
	Order  string // request body; DefaultOrder when empty
	// Log returns everything the worker has logged so far; nil when the log
	// cannot be read, and placements are then unknown.
	Log func() (string, error)
	// LogWait bounds the wait for the log lines of a round; 10 s when zero.
	LogWait time.Duration
}

// Round is what one key went through.
type Round struct {
	Key      string
	Statuses map[int]int // status code → responses; 0 counts transport errors
	OrderIDs []string    // distinct orderId values in 201 and 200 bodies
	// Placements counted in the log for the round's order ids; -1 if unknown.
	Placements int
	// Unexpected holds a few responses other than 201, 200 and 409.
	Unexpected []string
}

// Result is a whole run.
type Result struct {
	Config   Config
	Rounds   []Round
	Wall     time.Duration
	Statuses map[int]int
	// LogIncomplete is set when a round's log lines did not all arrive in time.
	LogIncomplete bool
}

// Run performs cfg.Rounds rounds one after another.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.N < 1 || cfg.Rounds < 1 {
		return Result{}, fmt.Errorf("need N ≥ 1 and Rounds ≥ 1, got %d and %d", cfg.N, cfg.Rounds)
	}
	if cfg.Order == "" {
		cfg.Order = DefaultOrder
	}
	if cfg.LogWait == 0 {
		cfg.LogWait = 10 * time.Second
	}
	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: cfg.N},
	}
	defer client.CloseIdleConnections()
	// Open the N connections first, so that dialling does not spread out the
	// requests of the first round.
	fire(ctx, client, cfg.N, func() (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, cfg.URL+"/healthz", nil)
	})

	res := Result{Config: cfg, Statuses: map[int]int{}}
	start := time.Now()
	for range cfg.Rounds {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		r, complete, err := runRound(ctx, client, cfg)
		if err != nil {
			return res, err
		}
		res.LogIncomplete = res.LogIncomplete || !complete
		for status, n := range r.Statuses {
			res.Statuses[status] += n
		}
		res.Rounds = append(res.Rounds, r)
	}
	res.Wall = time.Since(start)
	return res, nil
}

type answer struct {
	status int
	body   []byte
	err    error
}

func runRound(ctx context.Context, client *http.Client, cfg Config) (Round, bool, error) {
	r := Round{Key: "race-" + uuid.NewString(), Statuses: map[int]int{}, Placements: -1}
	answers := fire(ctx, client, cfg.N, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL+"/orders", strings.NewReader(cfg.Order))
		if err == nil {
			req.Header.Set("Idempotency-Key", r.Key)
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	})
	ids := map[string]bool{}
	created := 0
	for _, a := range answers {
		r.Statuses[a.status]++
		switch a.status {
		case http.StatusCreated, http.StatusOK:
			var receipt struct {
				OrderID string `json:"orderId"`
			}
			json.Unmarshal(a.body, &receipt)
			ids[receipt.OrderID] = true
			if a.status == http.StatusCreated {
				created++
			}
		case http.StatusConflict:
		default:
			if len(r.Unexpected) < 3 {
				r.Unexpected = append(r.Unexpected, fmt.Sprintf("%d %s%s", a.status, a.body, orNil(a.err)))
			}
		}
	}
	r.OrderIDs = slices.Sorted(maps.Keys(ids))
	if cfg.Log == nil {
		return r, true, nil
	}
	// The worker logs a request after answering it, so the lines may trail
	// the responses; every 201 has its line, which bounds the wait.
	deadline := time.Now().Add(cfg.LogWait)
	for {
		log, err := cfg.Log()
		if err != nil {
			return r, false, fmt.Errorf("reading the worker log: %w", err)
		}
		r.Placements = CountPlacements(log, ids)
		if r.Placements >= created {
			return r, true, nil
		}
		if time.Now().After(deadline) {
			return r, false, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fire sends n requests at the same instant: each goroutine builds its
// request, then all wait on one barrier.
func fire(ctx context.Context, client *http.Client, n int, newReq func() (*http.Request, error)) []answer {
	answers := make([]answer, n)
	barrier := make(chan struct{})
	var ready, done sync.WaitGroup
	for i := range answers {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			req, err := newReq()
			ready.Done()
			if err != nil {
				answers[i].err = err
				return
			}
			<-barrier
			for attempt := 1; ; attempt++ {
				answers[i] = send(client, req)
				if attempt == 3 || !proxyRestarted(answers[i]) {
					return
				}
				// What a client does with a 503 and Retry-After: 0: send the
				// same request, key included, again.
				if req, answers[i].err = newReq(); answers[i].err != nil {
					return
				}
			}
		}()
	}
	ready.Wait()
	close(barrier)
	done.Wait()
	return answers
}

func send(client *http.Client, req *http.Request) (a answer) {
	resp, err := client.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	a.status = resp.StatusCode
	a.body, a.err = io.ReadAll(resp.Body)
	return a
}

// proxyRestarted is wrangler dev's own 503, from its local proxy in front of
// workerd, which it sends under heavy load although the worker never
// restarted (workers-sdk issue 14641). Whether the worker saw the request
// or not, a retry under the same key is safe: that is the worker's promise.
func proxyRestarted(a answer) bool {
	return a.status == http.StatusServiceUnavailable && bytes.HasPrefix(a.body, []byte("Your worker restarted mid-request"))
}

// CountPlacements counts the worker's log lines that record a placement of
// one of the given order ids.
func CountPlacements(log string, orderIDs map[string]bool) int {
	n := 0
	for line := range strings.Lines(log) {
		if !strings.HasPrefix(line, "{") {
			continue // wrangler's own output
		}
		var entry struct {
			Event   string `json:"event"`
			OrderID string `json:"orderId"`
		}
		if json.Unmarshal([]byte(line), &entry) != nil || !orderIDs[entry.OrderID] {
			continue
		}
		if entry.Event == "placed" || entry.Event == "result_write_error" {
			n++
		}
	}
	return n
}

// PlacementStats are the minimum, median and maximum placements per key, and
// their total; ok is false when placements are unknown.
func (res Result) PlacementStats() (lo, median, hi, total int, ok bool) {
	var per []int
	for _, r := range res.Rounds {
		if r.Placements < 0 {
			return 0, 0, 0, 0, false
		}
		per = append(per, r.Placements)
		total += r.Placements
	}
	if len(per) == 0 {
		return 0, 0, 0, 0, false
	}
	slices.Sort(per)
	return per[0], per[len(per)/2], per[len(per)-1], total, true
}

// IDStats are the most distinct order ids any key produced, and the sum over
// all keys.
func (res Result) IDStats() (maxPerKey, total int) {
	for _, r := range res.Rounds {
		maxPerKey = max(maxPerKey, len(r.OrderIDs))
		total += len(r.OrderIDs)
	}
	return maxPerKey, total
}

// String is the report a person reads.
func (res Result) String() string {
	var b strings.Builder
	cfg := res.Config
	fmt.Fprintf(&b, "%d rounds × %d concurrent identical POSTs (one fresh Idempotency-Key per round) against %s, %v\n",
		cfg.Rounds, cfg.N, cfg.URL, res.Wall.Round(time.Millisecond))
	fmt.Fprintf(&b, "statuses:")
	for _, status := range slices.Sorted(maps.Keys(res.Statuses)) {
		label := fmt.Sprint(status)
		if status == 0 {
			label = "transport error"
		}
		fmt.Fprintf(&b, " %s×%d", label, res.Statuses[status])
	}
	maxIDs, totalIDs := res.IDStats()
	fmt.Fprintf(&b, "\ndistinct order ids per key: max %d, total %d over %d keys\n", maxIDs, totalIDs, len(res.Rounds))
	if lo, med, hi, total, ok := res.PlacementStats(); ok {
		fmt.Fprintf(&b, "placements per key (from the worker log): min %d, median %d, max %d; total %d over %d keys\n",
			lo, med, hi, total, len(res.Rounds))
		fmt.Fprintf(&b, "placements by round:")
		for _, r := range res.Rounds {
			fmt.Fprintf(&b, " %d", r.Placements)
		}
		fmt.Fprintln(&b)
	} else {
		created := res.Statuses[http.StatusCreated]
		fmt.Fprintf(&b, "placements: unknown without the worker log (at least %d: one per 201)\n", created)
	}
	if res.LogIncomplete {
		fmt.Fprintf(&b, "warning: some log lines had not arrived when counting; placements may be undercounted\n")
	}
	shown := 0
	for _, r := range res.Rounds {
		for _, u := range r.Unexpected {
			if shown < 3 {
				fmt.Fprintf(&b, "unexpected answer for key %s: %s\n", r.Key, u)
			}
			shown++
		}
	}
	if shown > 3 {
		fmt.Fprintf(&b, "(more unexpected answers not shown; see the statuses)\n")
	}
	return b.String()
}

func orNil(err error) string {
	if err == nil {
		return ""
	}
	return " (" + err.Error() + ")"
}
