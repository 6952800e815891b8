package idempotency_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/memory"
	"github.com/orderintake/edge/kvstore"
)

// The engine around functions that are not orders: charging a card, sending
// an email. Each answer carries the run's number, so a replay (the first
// run's bytes) and a rerun (a new number) cannot be mistaken.

var ctx = context.Background()

var chargeCall = idempotency.Call{Operation: "charge", Scope: "acme", Key: "k-1", Fingerprint: "card-4242 EUR 10.00"}

// charge is a function that charges a card and answers status.
func charge(runs *counter, status int) idempotency.Func {
	return func(context.Context) (idempotency.Response, error) {
		n := runs.inc()
		return idempotency.Response{Status: status, Header: map[string]string{"Content-Type": "application/json"},
			Body: fmt.Appendf(nil, `{"charge":"ch_%d"}`, n)}, nil
	}
}

// failing is a function whose outcome is retryable: it answers and errs.
func failing(runs *counter, err error) idempotency.Func {
	return func(context.Context) (idempotency.Response, error) {
		runs.inc()
		return idempotency.Response{Status: 502, Body: []byte(`{"error":"card network down"}`)}, err
	}
}

func sameResponse(a, b idempotency.Response) bool {
	return a.Status == b.Status && maps.Equal(a.Header, b.Header) && bytes.Equal(a.Body, b.Body)
}

func withFingerprint(c idempotency.Call, fingerprint string) idempotency.Call {
	c.Fingerprint = fingerprint
	return c
}

var errBoom = errors.New("boom")

func TestDoRunsOnceAndReplaysTheFinalResponse(t *testing.T) {
	t.Parallel()
	e, store, clock := newEngine()
	var runs counter
	first := e.Do(ctx, chargeCall, charge(&runs, 201))
	if first.Kind != idempotency.Executed || !first.Final || first.Err != nil || string(first.Response.Body) != `{"charge":"ch_1"}` {
		t.Fatalf("first call: %+v, want executed, final, the charge", first)
	}
	before := store.Calls("")
	clock.Advance(23 * time.Hour)
	second := e.Do(ctx, chargeCall, charge(&runs, 201))
	if second.Kind != idempotency.Replayed || second.Err != nil || !sameResponse(second.Response, first.Response) {
		t.Fatalf("retry: %+v, want the first response replayed", second)
	}
	if runs.get() != 1 {
		t.Errorf("fn ran %d times, want once", runs.get())
	}
	if got := store.Calls("") - before; got != 1 || store.Calls("Lookup") != 2 {
		t.Errorf("a replay made %d store calls, want one Lookup", got)
	}
}

// A retry while the first call runs is told the claim is in flight, and when
// its lease ends; Retry-After counts the whole seconds down to at least 1.
func TestACallWhileTheClaimLivesIsInFlight(t *testing.T) {
	t.Parallel()
	tests := []struct {
		after      time.Duration
		retryAfter int
	}{
		{0, 30},
		{500 * time.Millisecond, 30},
		{time.Second, 29},
		{10*time.Second + time.Millisecond, 20},
		{29 * time.Second, 1},
		{29*time.Second + 999*time.Millisecond, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.after), func(t *testing.T) {
			t.Parallel()
			e, _, clock := newEngine()
			var runs counter
			var retry idempotency.Outcome
			e.Do(ctx, chargeCall, func(ctx context.Context) (idempotency.Response, error) {
				clock.Advance(tt.after)
				retry = e.Do(ctx, chargeCall, charge(&runs, 201)) // the retry arrives while we run
				return charge(&runs, 201)(ctx)
			})
			if retry.Kind != idempotency.InFlight || !retry.LeaseUntil.Equal(t0.Add(30*time.Second)) || retry.Err != nil {
				t.Fatalf("retry %v into the claim: %+v, want in flight until the lease ends at +30s", tt.after, retry)
			}
			if got := retry.RetryAfter(clock.Now()); got != tt.retryAfter {
				t.Errorf("RetryAfter %v into the claim = %d, want %d", tt.after, got, tt.retryAfter)
			}
			if runs.get() != 1 {
				t.Errorf("fn ran %d times, want once", runs.get())
			}
		})
	}
}

func TestRetryAfterIsAtLeastOne(t *testing.T) {
	t.Parallel()
	out := idempotency.Outcome{Kind: idempotency.InFlight, LeaseUntil: t0}
	for _, now := range []time.Time{t0, t0.Add(time.Millisecond), t0.Add(time.Hour)} {
		if got := out.RetryAfter(now); got != 1 {
			t.Errorf("RetryAfter %v after the lease ended = %d, want 1", now.Sub(t0), got)
		}
	}
}

// Another fingerprint under a key is a reused key: refused whether the key
// holds a result or a live claim (a reused key outranks a busy one).
func TestAnotherFingerprintIsAKeyReused(t *testing.T) {
	t.Parallel()
	other := withFingerprint(chargeCall, "card-4242 EUR 99.00")

	t.Run("a result", func(t *testing.T) {
		t.Parallel()
		e, _, _ := newEngine()
		var runs counter
		e.Do(ctx, chargeCall, charge(&runs, 201))
		out := e.Do(ctx, other, charge(&runs, 201))
		if out.Kind != idempotency.KeyReused || out.Err != nil || out.Response.Body != nil || runs.get() != 1 {
			t.Errorf("got %+v after %d runs, want key reused and one run", out, runs.get())
		}
	})
	t.Run("a live claim", func(t *testing.T) {
		t.Parallel()
		e, _, _ := newEngine()
		var runs counter
		var out idempotency.Outcome
		e.Do(ctx, chargeCall, func(ctx context.Context) (idempotency.Response, error) {
			out = e.Do(ctx, other, charge(&runs, 201))
			return charge(&runs, 201)(ctx)
		})
		if out.Kind != idempotency.KeyReused || runs.get() != 1 {
			t.Errorf("got %+v, want key reused (not in flight) and one run", out)
		}
	})
	t.Run("a claim whose lease has ended", func(t *testing.T) {
		t.Parallel()
		e, store, clock := newEngine()
		store.complete = func(context.Context, string, idempotency.Claim, idempotency.Result) error { return errBoom }
		var runs counter
		e.Do(ctx, chargeCall, charge(&runs, 201)) // its result is lost; its claim stays
		clock.Advance(30 * time.Second)
		store.complete = nil
		if out := e.Do(ctx, other, charge(&runs, 201)); out.Kind != idempotency.Executed || runs.get() != 2 {
			t.Errorf("got %+v, want the other call to take the key over and run", out)
		}
	})
}

func TestStorageFailuresRunNothing(t *testing.T) {
	t.Parallel()
	corrupt := fmt.Errorf("%w under %q", idempotency.ErrCorruptRecord, "charge acme k-1")
	tests := []struct {
		name    string
		arrange func(s *spyStore)
		err     error
	}{
		{"Lookup fails", func(s *spyStore) {
			s.lookup = func(context.Context, string) (*idempotency.Result, *idempotency.Claim, error) {
				return nil, nil, errBoom
			}
		}, errBoom},
		{"a record is corrupt", func(s *spyStore) {
			s.lookup = func(context.Context, string) (*idempotency.Result, *idempotency.Claim, error) {
				return nil, nil, corrupt
			}
		}, idempotency.ErrCorruptRecord},
		{"Claim fails", func(s *spyStore) {
			s.claim = func(context.Context, string, idempotency.Claim) (bool, *idempotency.Claim, error) {
				return false, nil, errBoom
			}
		}, errBoom},
		{"Claim wins but errs (the claim is not confirmed)", func(s *spyStore) {
			s.claim = func(context.Context, string, idempotency.Claim) (bool, *idempotency.Claim, error) {
				return true, nil, errBoom
			}
		}, errBoom},
		{"the claim read back is corrupt", func(s *spyStore) {
			s.claim = func(context.Context, string, idempotency.Claim) (bool, *idempotency.Claim, error) {
				return false, nil, corrupt
			}
		}, idempotency.ErrCorruptRecord},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, store, _ := newEngine()
			tt.arrange(store)
			var runs counter
			out := e.Do(ctx, chargeCall, charge(&runs, 201))
			if out.Kind != idempotency.StorageFailed || !errors.Is(out.Err, tt.err) {
				t.Errorf("got %+v, want storage failed with %v", out, tt.err)
			}
			if runs.get() != 0 || store.Calls("Complete")+store.Calls("Release") != 0 {
				t.Errorf("fn ran %d times, Complete %d, Release %d; want nothing run or written",
					runs.get(), store.Calls("Complete"), store.Calls("Release"))
			}
		})
	}
}

// A retryable outcome (fn's error) releases the claim: the next call runs
// fn again, and the caller gets fn's response and error.
func TestARetryableErrorReleasesTheClaim(t *testing.T) {
	t.Parallel()
	e, store, _ := newEngine()
	var runs counter
	out := e.Do(ctx, chargeCall, failing(&runs, errBoom))
	if out.Kind != idempotency.Executed || out.Final || !errors.Is(out.Err, errBoom) || out.Response.Status != 502 {
		t.Fatalf("got %+v, want executed, not final, fn's error and response", out)
	}
	if store.Calls("Release") != 1 || store.Calls("Complete") != 0 {
		t.Errorf("Release %d, Complete %d; want the claim released and nothing stored", store.Calls("Release"), store.Calls("Complete"))
	}
	if out := e.Do(ctx, chargeCall, charge(&runs, 201)); out.Kind != idempotency.Executed || !out.Final || runs.get() != 2 {
		t.Errorf("the retry: %+v after %d runs, want fn run again", out, runs.get())
	}
	if out := e.Do(ctx, chargeCall, charge(&runs, 201)); out.Kind != idempotency.Replayed || string(out.Response.Body) != `{"charge":"ch_2"}` {
		t.Errorf("the next retry: %+v, want the successful run replayed", out)
	}
}

// A claim that cannot be released keeps retries out until its lease ends,
// and the caller learns both errors.
func TestAClaimThatCannotBeReleasedEndsWithItsLease(t *testing.T) {
	t.Parallel()
	e, store, clock := newEngine()
	store.release = func(context.Context, string, idempotency.Claim) error { return errors.New("KV DELETE failed") }
	var runs counter
	out := e.Do(ctx, chargeCall, failing(&runs, errBoom))
	if !errors.Is(out.Err, errBoom) || out.Err.Error() == errBoom.Error() {
		t.Errorf("Err %v, want fn's error joined with the release's", out.Err)
	}
	clock.Advance(30*time.Second - time.Millisecond)
	if out := e.Do(ctx, chargeCall, charge(&runs, 201)); out.Kind != idempotency.InFlight {
		t.Errorf("during the lease: %+v, want in flight", out)
	}
	clock.Advance(time.Millisecond)
	if out := e.Do(ctx, chargeCall, charge(&runs, 201)); out.Kind != idempotency.Executed || runs.get() != 2 {
		t.Errorf("after the lease: %+v, want a takeover that runs fn", out)
	}
}

// The engine does not judge statuses: a nil error makes any response final,
// a refusal or a 500 alike (the middleware's Final decides for HTTP).
func TestANilErrorMakesAnyResponseFinal(t *testing.T) {
	t.Parallel()
	for _, status := range []int{200, 202, 402, 422, 500} {
		e, _, _ := newEngine()
		var runs counter
		first := e.Do(ctx, chargeCall, charge(&runs, status))
		second := e.Do(ctx, chargeCall, charge(&runs, status))
		if !first.Final || second.Kind != idempotency.Replayed || second.Response.Status != status || runs.get() != 1 {
			t.Errorf("status %d: first %+v, second %+v; want it stored and replayed", status, first, second)
		}
	}
}

// When the final response cannot be stored the caller still gets it; the
// claim keeps retries out until its lease ends, then a retry runs fn again.
func TestAResultThatCannotBeStored(t *testing.T) {
	t.Parallel()
	e, store, clock := newEngine()
	store.complete = func(context.Context, string, idempotency.Claim, idempotency.Result) error { return errBoom }
	var runs counter
	out := e.Do(ctx, chargeCall, charge(&runs, 201))
	if out.Kind != idempotency.Executed || !out.Final || !errors.Is(out.Err, errBoom) || string(out.Response.Body) != `{"charge":"ch_1"}` {
		t.Fatalf("got %+v, want executed and final with the store's error, and the response", out)
	}
	store.complete = nil
	clock.Advance(30*time.Second - time.Millisecond)
	retry := e.Do(ctx, chargeCall, charge(&runs, 201))
	if retry.Kind != idempotency.InFlight || !retry.LeaseUntil.Equal(t0.Add(30*time.Second)) || retry.RetryAfter(clock.Now()) != 1 {
		t.Errorf("during the lease: %+v, want in flight until +30s", retry)
	}
	clock.Advance(time.Millisecond)
	if out := e.Do(ctx, chargeCall, charge(&runs, 201)); out.Kind != idempotency.Executed || out.Err != nil || runs.get() != 2 {
		t.Errorf("after the lease: %+v, want a takeover that runs fn again", out)
	}
	if out := e.Do(ctx, chargeCall, charge(&runs, 201)); out.Kind != idempotency.Replayed || string(out.Response.Body) != `{"charge":"ch_2"}` {
		t.Errorf("then: %+v, want the takeover's response replayed", out)
	}
}

// A call whose claim lost (another call claimed the key between its Lookup
// and its Claim) runs nothing and is answered as the winner's retry would
// be: from the holder the store reported, else from a second look, else as
// in flight for a second.
func TestALostClaimAnswersAsTheWinnersRetry(t *testing.T) {
	t.Parallel()
	holder := &idempotency.Claim{Fingerprint: chargeCall.Fingerprint, ID: "winner", ClaimedAt: t0, LeaseUntil: t0.Add(12 * time.Second)}
	otherHolder := &idempotency.Claim{Fingerprint: "card-4242 EUR 99.00", ID: "winner", ClaimedAt: t0, LeaseUntil: t0.Add(12 * time.Second)}
	endedHolder := &idempotency.Claim{Fingerprint: chargeCall.Fingerprint, ID: "winner", ClaimedAt: t0.Add(-time.Minute), LeaseUntil: t0}
	result := &idempotency.Result{Fingerprint: chargeCall.Fingerprint, Status: 201, Header: map[string]string{"Content-Type": "application/json"},
		Body: `{"charge":"ch_winner"}`, CompletedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	otherResult := &idempotency.Result{Fingerprint: "card-4242 EUR 99.00", Status: 201, Body: `{}`, CompletedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	type look struct {
		result *idempotency.Result
		claim  *idempotency.Claim
		err    error
	}
	tests := []struct {
		name       string
		holder     *idempotency.Claim
		second     look // the second Lookup, when there is no holder
		kind       idempotency.Kind
		leaseUntil time.Time
		lookups    int
	}{
		{"the holder, same fingerprint", holder, look{}, idempotency.InFlight, holder.LeaseUntil, 1},
		{"the holder, another fingerprint", otherHolder, look{}, idempotency.KeyReused, time.Time{}, 1},
		{"the holder, its lease already ended", endedHolder, look{}, idempotency.InFlight, t0.Add(time.Second), 1},
		{"no holder; the winner's result", nil, look{result: result}, idempotency.Replayed, time.Time{}, 2},
		{"no holder; the winner's result for another fingerprint", nil, look{result: otherResult}, idempotency.KeyReused, time.Time{}, 2},
		{"no holder; the winner's claim", nil, look{claim: holder}, idempotency.InFlight, holder.LeaseUntil, 2},
		{"no holder; nothing left", nil, look{}, idempotency.InFlight, t0.Add(time.Second), 2},
		{"no holder; the second look fails", nil, look{err: errBoom}, idempotency.StorageFailed, time.Time{}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, store, _ := newEngine()
			store.claim = func(context.Context, string, idempotency.Claim) (bool, *idempotency.Claim, error) {
				return false, tt.holder, nil
			}
			store.lookup = func(context.Context, string) (*idempotency.Result, *idempotency.Claim, error) {
				if store.Calls("Lookup") == 1 {
					return nil, nil, nil // the first look: a fresh key
				}
				return tt.second.result, tt.second.claim, tt.second.err
			}
			var runs counter
			out := e.Do(ctx, chargeCall, charge(&runs, 201))
			if out.Kind != tt.kind || !out.LeaseUntil.Equal(tt.leaseUntil) {
				t.Errorf("got %v until %v, want %v until %v", out.Kind, out.LeaseUntil, tt.kind, tt.leaseUntil)
			}
			if tt.kind == idempotency.Replayed && string(out.Response.Body) != result.Body {
				t.Errorf("replayed %q, want the winner's result", out.Response.Body)
			}
			if runs.get() != 0 || store.Calls("Complete")+store.Calls("Release") != 0 {
				t.Errorf("the loser ran fn %d times, Complete %d, Release %d", runs.get(), store.Calls("Complete"), store.Calls("Release"))
			}
			if store.Calls("Lookup") != tt.lookups {
				t.Errorf("%d Lookups, want %d", store.Calls("Lookup"), tt.lookups)
			}
		})
	}
}

// The point of the engine: concurrent calls of one key run fn at most once.
func TestConcurrentCallsRunFnOnce(t *testing.T) {
	t.Parallel()
	const callers = 50
	for round := range 20 {
		e, _, _ := newEngine()
		var runs counter
		kinds := make(chan idempotency.Kind, callers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				<-start
				kinds <- e.Do(ctx, chargeCall, charge(&runs, 201)).Kind
			})
		}
		close(start)
		wg.Wait()
		close(kinds)
		counts := map[idempotency.Kind]int{}
		for k := range kinds {
			counts[k]++
		}
		if runs.get() != 1 || counts[idempotency.Executed] != 1 || counts[idempotency.Replayed]+counts[idempotency.InFlight] != callers-1 {
			t.Fatalf("round %d: fn ran %d times; outcomes %v; want one run, the rest replayed or in flight", round, runs.get(), counts)
		}
	}
}

// A key is one key per (scope, operation): other scopes and other
// operations under the same key run on their own, and replay their own.
func TestScopesAndOperationsAreIndependent(t *testing.T) {
	t.Parallel()
	e, _, _ := newEngine()
	calls := []idempotency.Call{
		{Operation: "charge", Scope: "acme", Key: "k-1", Fingerprint: "fp"},
		{Operation: "charge", Scope: "globex", Key: "k-1", Fingerprint: "fp"},
		{Operation: "charge", Key: "k-1", Fingerprint: "fp"},
		{Operation: "refund", Scope: "acme", Key: "k-1", Fingerprint: "fp"},
		{Operation: "send email", Scope: "acme", Key: "k-1", Fingerprint: "fp"},
		{Scope: "acme", Key: "k-1", Fingerprint: "fp"}, // the order intake's records
		{Key: "k-1", Fingerprint: "fp"},
	}
	var runs counter
	first := map[int]idempotency.Outcome{}
	for i, call := range calls {
		if first[i] = e.Do(ctx, call, charge(&runs, 201)); first[i].Kind != idempotency.Executed {
			t.Errorf("%+v: %v, want executed: no other call's record may block it", call, first[i].Kind)
		}
	}
	for i, call := range calls {
		out := e.Do(ctx, call, charge(&runs, 201))
		if out.Kind != idempotency.Replayed || !sameResponse(out.Response, first[i].Response) {
			t.Errorf("%+v: %v %s, want its own response %s replayed", call, out.Kind, out.Response.Body, first[i].Response.Body)
		}
	}
}

// An Engine's zero fields: a 30 s lease, a day's retention, the wall clock's
// place taken by Now, and a fresh random claim id per claim.
func TestEngineDefaults(t *testing.T) {
	t.Parallel()
	clock := kvstore.NewClock(t0)
	store := newSpyStore(memory.New(clock.Now))
	e := &idempotency.Engine{Store: store, Now: clock.Now}
	var runs counter
	var retry idempotency.Outcome
	e.Do(ctx, chargeCall, func(ctx context.Context) (idempotency.Response, error) {
		retry = e.Do(ctx, chargeCall, charge(&runs, 201))
		return charge(&runs, 201)(ctx)
	})
	if !retry.LeaseUntil.Equal(t0.Add(idempotency.DefaultLease)) || idempotency.DefaultLease != 30*time.Second {
		t.Errorf("lease until %v, want the default %v", retry.LeaseUntil.Sub(t0), idempotency.DefaultLease)
	}
	clock.Advance(idempotency.DefaultRetention - time.Millisecond)
	if out := e.Do(ctx, chargeCall, charge(&runs, 201)); out.Kind != idempotency.Replayed {
		t.Errorf("1 ms before the default retention ends: %v, want replayed", out.Kind)
	}
	clock.Advance(time.Millisecond)
	if out := e.Do(ctx, chargeCall, charge(&runs, 201)); out.Kind != idempotency.Executed || idempotency.DefaultRetention != 24*time.Hour {
		t.Errorf("when the default retention of %v has ended: %v, want executed", idempotency.DefaultRetention, out.Kind)
	}
	if len(store.claims) != 2 || store.claims[0].ID == "" || store.claims[0].ID == store.claims[1].ID {
		t.Errorf("claims %+v, want two with distinct ids", store.claims)
	}

	e.NewClaimID = func() string { return "my-id" }
	e.Do(ctx, idempotency.Call{Operation: "charge", Key: "k-2"}, charge(&runs, 201))
	if got := store.claims[len(store.claims)-1].ID; got != "my-id" {
		t.Errorf("claim id %q, want NewClaimID's", got)
	}
}

// The engine does not recover a panic of fn: it goes on to the caller, whose
// own recover answers, and the claim holds the key until its lease ends (fn
// may have done its work), as for a call that died with its process.
func TestAPanicKeepsTheClaimUntilItsLeaseEnds(t *testing.T) {
	t.Parallel()
	e, store, clock := newEngine()
	var runs counter
	func() {
		defer func() {
			if p := recover(); p != "card network panicked" {
				t.Errorf("recovered %v, want fn's panic", p)
			}
		}()
		e.Do(ctx, chargeCall, func(context.Context) (idempotency.Response, error) {
			runs.inc()
			panic("card network panicked")
		})
	}()
	if store.Calls("Release")+store.Calls("Complete") != 0 {
		t.Error("a panicking call released or completed its claim")
	}
	clock.Advance(30*time.Second - time.Millisecond)
	if out := e.Do(ctx, chargeCall, charge(&runs, 201)); out.Kind != idempotency.InFlight {
		t.Errorf("during the lease: %v, want in flight", out.Kind)
	}
	clock.Advance(time.Millisecond)
	if out := e.Do(ctx, chargeCall, charge(&runs, 201)); out.Kind != idempotency.Executed || runs.get() != 2 {
		t.Errorf("after the lease: %v after %d runs, want a takeover", out.Kind, runs.get())
	}
}

// What Do hands back is the caller's: changing the header map of a response
// it returned, executed or replayed, does not change the next replay, from
// the store or from the engine's cache of results.
func TestAResponseIsTheCallersToChange(t *testing.T) {
	t.Parallel()
	for _, cache := range []*idempotency.ResultCache{nil, idempotency.NewResultCache(10)} {
		e, _, _ := newEngine()
		e.Cache = cache
		var runs counter
		executed := e.Do(ctx, chargeCall, charge(&runs, 201))
		executed.Response.Header["X-Request-Id"] = "req-1"
		replayed := e.Do(ctx, chargeCall, charge(&runs, 201))
		replayed.Response.Header["Content-Type"] = "text/html"
		replayed.Response.Header["Set-Cookie"] = "session=stolen"
		if next := e.Do(ctx, chargeCall, charge(&runs, 201)); !maps.Equal(next.Response.Header, map[string]string{"Content-Type": "application/json"}) {
			t.Errorf("with cache %v: the next replay's header %v, want the stored one", cache != nil, next.Response.Header)
		}
	}
}

func TestKindNames(t *testing.T) {
	t.Parallel()
	want := map[idempotency.Kind]string{idempotency.Executed: "executed", idempotency.Replayed: "replayed",
		idempotency.InFlight: "in flight", idempotency.KeyReused: "key reused", idempotency.StorageFailed: "storage failed",
		0: ""}
	for kind, name := range want {
		if kind.String() != name {
			t.Errorf("Kind(%d).String() = %q, want %q", int(kind), kind.String(), name)
		}
	}
}
