// Package storetest checks that an idempotency.Store keeps the contract the
// engine relies on. A store's own tests call Run with a function that makes
// a fresh store on a settable clock:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, clock *kvstore.Clock) idempotency.Store {
//			return memory.New(clock.Now)
//		}, storetest.Options{})
//	}
//
// The zero Options assert the whole contract, as package memory keeps it.
// A store that departs from it (Workers KV has no put-if-absent, D1's claim
// does not say who holds a key) says how in Options, so that each departure
// is written down and asserted as documented, never silently tolerated.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/kvstore"
)

// Start is the time every store's clock starts at: a whole millisecond (as
// D1 stores times), not a whole second (as KV rounds its TTLs).
var Start = time.Date(2026, 11, 23, 14, 30, 50, 123e6, time.UTC)

// Lease is the lease of the suite's claims unless a test says otherwise:
// shorter than KV's 60-second TTL floor, as the engine's default is.
const Lease = 30 * time.Second

// Concurrency is how many goroutines claim one key at once.
const Concurrency = 50

// NewStore returns an empty store whose records expire on clock. Each call
// must return a store of its own: the suite's tests run in parallel.
type NewStore func(t *testing.T, clock *kvstore.Clock) idempotency.Store

// Options describe how a store departs from the strictest reading of the
// idempotency.Store contract, and how to corrupt its records. Each field is
// a documented limit of a store, and the suite asserts the documented
// behaviour in its place; the zero value allows none.
type Options struct {
	// BlindClaim: Claim writes its claim without looking for a result or a
	// live claim, so it overwrites a live claim and wins; the caller's
	// Lookup just before is the check. It still never hides a result from
	// Lookup. Workers KV: no put-if-absent, and a look would be a fourth
	// billed read per call.
	BlindClaim bool
	// RacingClaims: of concurrent Claims of one key more than one may win.
	// The suite then asserts that at least one wins and that the claim left
	// holding the key is a winner's. Workers KV, even at one location: the
	// read-back narrows the race, it cannot close it.
	RacingClaims bool
	// NoHolder: a Claim that loses never reports the claim holding the key.
	// D1: the atomic statement says only whether it changed a row.
	NoHolder bool
	// NoClaimID: Lookup returns claims without their ID. D1: a claim is
	// named by its claimedAt and fingerprint.
	NoClaimID bool
	// UncheckedComplete: Complete cannot tell that its claim lost the key
	// (its lease ended, another call took it over) and stores its result
	// anyway, where the contract allows ErrClaimLost. Workers KV: telling
	// would cost a read per call.
	UncheckedComplete bool
	// MinRetention: a result lives at least this long after it is stored,
	// whatever its ExpiresAt. Workers KV: a TTL below 60 s is refused, so
	// the store rounds it up.
	MinRetention time.Duration
	// RetentionStep: a result's life is rounded up to a whole multiple of
	// this. Workers KV: TTLs are whole seconds.
	RetentionStep time.Duration
	// Corrupt, when set, overwrites the record under key in store (a store
	// newStore made) with one the store cannot decode; the suite then
	// checks that Lookup reports it with ErrCorruptRecord. nil skips that
	// test (a store whose records cannot be corrupted).
	Corrupt func(t *testing.T, store idempotency.Store, key string)
}

// Run runs the conformance suite: one parallel subtest per clause of the
// idempotency.Store contract, each on a fresh store from newStore with its
// own clock, which starts at Start.
func Run(t *testing.T, newStore NewStore, opts Options) {
	t.Helper()
	tests := []struct {
		name string
		test func(*env)
	}{
		{"a fresh key has no records", freshKey},
		{"a claim wins a fresh key and Lookup shows it until its lease ends", claimShows},
		{"a second claim loses while the first lives", secondClaimLoses},
		{"a claim after the lease ended takes the key over", takeover},
		{"Complete stores the result byte for byte", completeStores},
		{"a claim loses to a result", claimLosesToResult},
		{"a result expires", resultExpires},
		{"Release frees the key", releaseFrees},
		{"Release removes no other call's claim and no result", releaseOnlyItsOwn},
		{"Complete of a claim that lost the key", completeLostClaim},
		{"concurrent claims of one key", concurrentClaims},
		{"record keys of different calls are independent", recordKeysIndependent},
		{"stored records do not change through the values passed in or handed out", noAliasing},
		{"a call without a fingerprint", emptyFingerprint},
		{"a corrupt record is an error", corruptRecord},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := kvstore.NewClock(Start)
			tt.test(&env{t: t, clock: clock, store: newStore(t, clock), opts: opts, ctx: context.Background()})
		})
	}
}

// env is one subtest's store and clock.
type env struct {
	t     *testing.T
	clock *kvstore.Clock
	store idempotency.Store
	opts  Options
	ctx   context.Context
	ids   int
}

// newClaim is a claim made now, with a unique id.
func (e *env) newClaim(fingerprint string, lease time.Duration) idempotency.Claim {
	e.ids++
	now := e.clock.Now()
	return idempotency.Claim{Fingerprint: fingerprint, ID: fmt.Sprintf("claim-%d", e.ids), ClaimedAt: now, LeaseUntil: now.Add(lease)}
}

// newResult is a result completed now, kept for retention.
func (e *env) newResult(fingerprint string, retention time.Duration, status int, header map[string]string, body string) idempotency.Result {
	now := e.clock.Now()
	return idempotency.Result{Fingerprint: fingerprint, Status: status, Header: header, Body: body,
		CompletedAt: now, ExpiresAt: now.Add(retention)}
}

func (e *env) lookup(key string) (*idempotency.Result, *idempotency.Claim) {
	e.t.Helper()
	result, claim, err := e.store.Lookup(e.ctx, key)
	if err != nil {
		e.t.Fatalf("Lookup(%q) at %v: %v", key, e.elapsed(), err)
	}
	return result, claim
}

func (e *env) claim(key string, c idempotency.Claim) (bool, *idempotency.Claim) {
	e.t.Helper()
	won, holder, err := e.store.Claim(e.ctx, key, c)
	if err != nil {
		e.t.Fatalf("Claim(%q, %s) at %v: %v", key, c.ID, e.elapsed(), err)
	}
	return won, holder
}

// mustClaim claims key with c and fails the test unless c wins.
func (e *env) mustClaim(key string, c idempotency.Claim) {
	e.t.Helper()
	if won, holder := e.claim(key, c); !won {
		e.t.Fatalf("Claim(%q, %s) at %v lost to %s; want it to win", key, c.ID, e.elapsed(), showClaim(holder))
	}
}

func (e *env) complete(key string, c idempotency.Claim, r idempotency.Result) {
	e.t.Helper()
	if err := e.store.Complete(e.ctx, key, c, r); err != nil {
		e.t.Fatalf("Complete(%q, %s) at %v: %v", key, c.ID, e.elapsed(), err)
	}
}

func (e *env) release(key string, c idempotency.Claim) {
	e.t.Helper()
	if err := e.store.Release(e.ctx, key, c); err != nil {
		e.t.Fatalf("Release(%q, %s) at %v: %v", key, c.ID, e.elapsed(), err)
	}
}

func (e *env) elapsed() time.Duration { return e.clock.Now().Sub(Start) }

// wantFresh fails unless key holds neither a result nor a live claim.
func (e *env) wantFresh(key, when string) {
	e.t.Helper()
	result, claim := e.lookup(key)
	if result != nil || (claim != nil && e.clock.Now().Before(claim.LeaseUntil)) {
		e.t.Errorf("%s: Lookup(%q) = %s, %s; want no result and no live claim", when, key, showResult(result), showClaim(claim))
	}
}

// wantClaim fails unless Lookup shows claim c, and no result, under key.
func (e *env) wantClaim(key string, c idempotency.Claim, when string) {
	e.t.Helper()
	result, got := e.lookup(key)
	if result != nil || !e.sameClaim(got, &c) {
		e.t.Errorf("%s: Lookup(%q) = %s, %s; want no result and the claim %s", when, key, showResult(result), showClaim(got), showClaim(&c))
	}
}

// wantResult fails unless Lookup shows result r under key.
func (e *env) wantResult(key string, r idempotency.Result, when string) {
	e.t.Helper()
	got, claim := e.lookup(key)
	if got == nil || claim != nil {
		e.t.Errorf("%s: Lookup(%q) = %s, %s; want the result and no claim", when, key, showResult(got), showClaim(claim))
		return
	}
	if diff := diffResult(*got, r); diff != "" {
		e.t.Errorf("%s: Lookup(%q) returned another result: %s", when, key, diff)
	}
}

// sameClaim reports whether got is the stored form of want.
func (e *env) sameClaim(got, want *idempotency.Claim) bool {
	if got == nil || want == nil {
		return got == want
	}
	id := got.ID == want.ID
	if e.opts.NoClaimID {
		id = got.ID == ""
	}
	return id && got.Fingerprint == want.Fingerprint && got.ClaimedAt.Equal(want.ClaimedAt) && got.LeaseUntil.Equal(want.LeaseUntil)
}

// diffResult says how got differs from want, "" when it does not.
func diffResult(got, want idempotency.Result) string {
	var diffs []string
	if got.Fingerprint != want.Fingerprint {
		diffs = append(diffs, fmt.Sprintf("fingerprint %q, want %q", got.Fingerprint, want.Fingerprint))
	}
	if got.Status != want.Status {
		diffs = append(diffs, fmt.Sprintf("status %d, want %d", got.Status, want.Status))
	}
	if !maps.Equal(got.Header, want.Header) {
		diffs = append(diffs, fmt.Sprintf("header %v, want %v", got.Header, want.Header))
	}
	if got.Body != want.Body {
		diffs = append(diffs, diffBody(got.Body, want.Body))
	}
	if !got.CompletedAt.Equal(want.CompletedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		diffs = append(diffs, fmt.Sprintf("completed %v expiring %v, want %v and %v", got.CompletedAt, got.ExpiresAt, want.CompletedAt, want.ExpiresAt))
	}
	return strings.Join(diffs, "; ")
}

// diffBody says where two bodies part, briefly: bodies can be long.
func diffBody(got, want string) string {
	at := 0
	for at < len(got) && at < len(want) && got[at] == want[at] {
		at++
	}
	brief := func(s string) string {
		if len(s) > 16 {
			s = s[:16] + "…"
		}
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("a %d-byte body, want %d bytes; they part at byte %d: %s, want %s",
		len(got), len(want), at, brief(got[at:]), brief(want[at:]))
}

func showClaim(c *idempotency.Claim) string {
	if c == nil {
		return "no claim"
	}
	return fmt.Sprintf("claim{id %q, fingerprint %q, claimed %v, lease until %v}", c.ID, c.Fingerprint,
		c.ClaimedAt.Sub(Start), c.LeaseUntil.Sub(Start))
}

func showResult(r *idempotency.Result) string {
	if r == nil {
		return "no result"
	}
	return fmt.Sprintf("result{fingerprint %q, status %d, %d-byte body}", r.Fingerprint, r.Status, len(r.Body))
}

func freshKey(e *env) {
	result, claim := e.lookup("fresh")
	if result != nil || claim != nil {
		e.t.Errorf("Lookup of a fresh key = %s, %s; want nothing", showResult(result), showClaim(claim))
	}
}

// claimShows: Claim then Lookup shows the claim, for leases shorter and
// longer than KV's 60-second floor, until the last moment of the lease.
func claimShows(e *env) {
	for _, lease := range []time.Duration{1500 * time.Millisecond, Lease, 90 * time.Second, time.Hour} {
		key := fmt.Sprint("lease-", lease)
		c := e.newClaim("fp", lease)
		e.mustClaim(key, c)
		e.wantClaim(key, c, "right after the claim")
		e.clock.Advance(lease - time.Millisecond)
		e.wantClaim(key, c, fmt.Sprintf("1 ms before its %v lease ends", lease))
		e.clock.Advance(time.Millisecond)
		e.wantFresh(key, fmt.Sprintf("when its %v lease has ended", lease))
	}
}

// secondClaimLoses: while a claim lives, another loses, whatever its
// fingerprint; the holder it reports is the first claim.
func secondClaimLoses(e *env) {
	tests := []struct {
		name        string
		fingerprint string
		after       time.Duration
	}{
		{"same fingerprint, at once", "fp", 0},
		{"other fingerprint, at once", "other", 0},
		{"same fingerprint, 1 ms before the lease ends", "fp", Lease - time.Millisecond},
		{"other fingerprint, 1 ms before the lease ends", "other", Lease - time.Millisecond},
	}
	for i, tt := range tests {
		key := fmt.Sprint("second-", i)
		first := e.newClaim("fp", Lease)
		e.mustClaim(key, first)
		e.clock.Advance(tt.after)
		second := e.newClaim(tt.fingerprint, Lease)
		won, holder := e.claim(key, second)
		switch {
		case e.opts.BlindClaim:
			// Documented: the claim is written over the first and wins.
			if !won {
				e.t.Errorf("%s: a blind claim lost to %s; want it written over the first", tt.name, showClaim(holder))
			}
			e.wantClaim(key, second, tt.name+", the blind claim")
		case won:
			e.t.Errorf("%s: the second claim won while the first lives", tt.name)
		case e.opts.NoHolder && holder != nil:
			e.t.Errorf("%s: holder %s from a store documented to report none", tt.name, showClaim(holder))
		case !e.opts.NoHolder && !e.sameClaim(holder, &first):
			e.t.Errorf("%s: holder %s, want the first claim %s", tt.name, showClaim(holder), showClaim(&first))
		default:
			e.wantClaim(key, first, tt.name+", the first claim")
		}
		e.clock.Advance(time.Hour) // every claim of this round has ended
	}
}

// takeover: once the lease ends the key is free to claim, and the new claim
// holds it.
func takeover(e *env) {
	for _, after := range []time.Duration{Lease, Lease + time.Millisecond, 2 * time.Hour} {
		key := fmt.Sprint("takeover-", after)
		first := e.newClaim("fp", Lease)
		e.mustClaim(key, first)
		e.clock.Advance(after)
		second := e.newClaim("other", Lease)
		e.mustClaim(key, second)
		e.wantClaim(key, second, fmt.Sprintf("a takeover %v after the first claim", after))
	}
}

// Bodies that must replay byte for byte.
var bodies = map[string]string{
	"JSON":                `{"id":"wh_1","received":true,"note":"<&>"}`,
	"empty":               "",
	"every byte":          everyByte(),
	"not UTF-8":           "\xff\xfe\x00\x80 half a rune: \xe2\x82",
	"NUL and line breaks": "a\x00b\r\nc\n",
	"64 KiB":              strings.Repeat("0123456789abcdef", 4096),
}

func everyByte() string {
	var b bytes.Buffer
	for i := range 256 {
		b.WriteByte(byte(i))
	}
	return b.String()
}

// completeStores: Complete then Lookup returns the result as it was given:
// status, headers, body byte for byte, times.
func completeStores(e *env) {
	tests := []struct {
		name   string
		status int
		header map[string]string
		body   string
	}{
		{"201 with Location", 201, map[string]string{"Content-Type": "application/json", "Location": "/webhooks/wh_1"}, bodies["JSON"]},
		{"202 without a body or headers", 202, nil, bodies["empty"]},
		{"204", 204, map[string]string{"X-Delivery": "d-1"}, bodies["empty"]},
		{"422 refusal", 422, map[string]string{"Content-Type": "application/problem+json"}, `{"type":"about:blank","status":422}`},
		{"every byte", 200, map[string]string{"Content-Type": "application/octet-stream"}, bodies["every byte"]},
		{"not UTF-8", 200, map[string]string{"Content-Type": "application/octet-stream"}, bodies["not UTF-8"]},
		{"NUL and line breaks", 200, map[string]string{"Content-Type": "text/plain"}, bodies["NUL and line breaks"]},
		{"64 KiB", 200, map[string]string{"Content-Type": "text/plain"}, bodies["64 KiB"]},
	}
	for _, tt := range tests {
		key := "complete-" + strings.ReplaceAll(tt.name, " ", "-")
		c := e.newClaim("fp", Lease)
		e.mustClaim(key, c)
		e.clock.Advance(1234 * time.Millisecond)
		r := e.newResult("fp", time.Hour, tt.status, tt.header, tt.body)
		e.complete(key, c, r)
		e.wantResult(key, r, tt.name)
		e.clock.Advance(Lease) // the claim's lease ends: the result still holds the key
		e.wantResult(key, r, tt.name+", after the claim's lease")
	}
}

// claimLosesToResult: a result holds its key against every claim, whatever
// its fingerprint, and is no claim to report as the holder.
func claimLosesToResult(e *env) {
	tests := []struct {
		name        string
		fingerprint string
		after       time.Duration
	}{
		{"same fingerprint, at once", "fp", 0},
		{"other fingerprint, at once", "other", 0},
		{"same fingerprint, after the claim's lease and KV's floor", "fp", 2 * time.Minute},
		{"other fingerprint, 1 ms before it expires", "other", time.Hour - time.Millisecond},
	}
	for i, tt := range tests {
		key := fmt.Sprint("result-", i)
		c := e.newClaim("fp", Lease)
		e.mustClaim(key, c)
		r := e.newResult("fp", time.Hour, 201, map[string]string{"Content-Type": "application/json"}, bodies["JSON"])
		e.complete(key, c, r)
		e.clock.Advance(tt.after)
		late := e.newClaim(tt.fingerprint, Lease)
		won, holder := e.claim(key, late)
		switch {
		case e.opts.BlindClaim:
			// Documented: the claim is written, but never hides the result.
			e.wantResult(key, r, tt.name+", after a blind claim")
		case won:
			e.t.Errorf("%s: a claim won over a result", tt.name)
		case holder != nil:
			e.t.Errorf("%s: a claim lost to a result and reported the holder %s: a result is no claim", tt.name, showClaim(holder))
		default:
			e.wantResult(key, r, tt.name)
		}
		e.clock.Advance(2 * time.Hour) // the next round starts on a fresh key anyway
	}
}

// resultExpires: a result holds its key until ExpiresAt (or as long as the
// store's documented limits keep it), then the key is free.
func resultExpires(e *env) {
	for _, retention := range []time.Duration{24 * time.Hour, 2 * time.Hour, 90*time.Second + 500*time.Millisecond, 10 * time.Second} {
		key := fmt.Sprint("expire-", retention)
		c := e.newClaim("fp", Lease)
		e.mustClaim(key, c)
		r := e.newResult("fp", retention, 200, map[string]string{"Content-Type": "text/plain"}, "ok")
		e.complete(key, c, r)
		life := max(retention, e.opts.MinRetention)
		if step := e.opts.RetentionStep; step > 0 {
			life = (life + step - 1) / step * step
		}
		e.clock.Advance(life - time.Millisecond)
		e.wantResult(key, r, fmt.Sprintf("1 ms before a %v result's life of %v ends", retention, life))
		e.clock.Advance(time.Millisecond)
		e.wantFresh(key, fmt.Sprintf("when a %v result's life of %v has ended", retention, life))
		e.mustClaim(key, e.newClaim("other", Lease))
	}
}

// releaseFrees: Release of a claim frees its key at once; releasing a claim
// that is gone is no error.
func releaseFrees(e *env) {
	c := e.newClaim("fp", Lease)
	e.mustClaim("k", c)
	e.release("k", c)
	e.wantFresh("k", "after Release")
	e.mustClaim("k", e.newClaim("other", Lease))

	gone := e.newClaim("fp", Lease)
	e.release("never-claimed", gone)
	e.wantFresh("never-claimed", "after releasing a claim never made")
}

// releaseOnlyItsOwn: Release of a claim that lost its key to a takeover
// leaves the takeover's claim, and then its result, in place.
func releaseOnlyItsOwn(e *env) {
	first := e.newClaim("fp", Lease)
	e.mustClaim("k", first)
	e.clock.Advance(Lease)
	second := e.newClaim("fp", Lease)
	e.mustClaim("k", second)
	e.release("k", first)
	e.wantClaim("k", second, "after the first claim's Release")

	r := e.newResult("fp", time.Hour, 200, map[string]string{"Content-Type": "text/plain"}, "ok")
	e.complete("k", second, r)
	e.release("k", first)
	e.release("k", second)
	e.wantResult("k", r, "after releasing both claims of a completed key")
}

// completeLostClaim: a claim whose lease ended and whose key was taken over
// cannot store its result over the takeover's state.
func completeLostClaim(e *env) {
	first := e.newClaim("fp", Lease)
	e.mustClaim("k", first)
	e.clock.Advance(Lease)
	second := e.newClaim("fp", Lease)
	e.mustClaim("k", second)
	late := e.newResult("fp", time.Hour, 200, map[string]string{"Content-Type": "text/plain"}, "first")
	err := e.store.Complete(e.ctx, "k", first, late)
	if e.opts.UncheckedComplete {
		// Documented: the store cannot tell, and the result is stored.
		if err != nil {
			e.t.Fatalf("Complete of a lost claim on a store that cannot tell: %v", err)
		}
		e.wantResult("k", late, "after Complete of the lost claim")
	} else {
		if !errors.Is(err, idempotency.ErrClaimLost) {
			e.t.Errorf("Complete of a lost claim: %v, want ErrClaimLost", err)
		}
		e.wantClaim("k", second, "after Complete of the lost claim")
	}
	// The takeover completes either way, and its result is the key's.
	r := e.newResult("fp", time.Hour, 200, map[string]string{"Content-Type": "text/plain"}, "second")
	e.complete("k", second, r)
	e.wantResult("k", r, "after the takeover's Complete")
}

// concurrentClaims: of Concurrency claims of one key at once, exactly one
// wins (at least one with RacingClaims), and the claim left holding the key
// is a winner's.
func concurrentClaims(e *env) {
	for round := range 10 {
		key := fmt.Sprint("race-", round)
		claims := make([]idempotency.Claim, Concurrency)
		for i := range claims {
			claims[i] = e.newClaim("fp", Lease)
		}
		type answer struct {
			won    bool
			holder *idempotency.Claim
			err    error
		}
		answers := make([]answer, Concurrency)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range claims {
			wg.Go(func() {
				<-start
				won, holder, err := e.store.Claim(e.ctx, key, claims[i])
				answers[i] = answer{won, holder, err}
			})
		}
		close(start)
		wg.Wait()

		var winners []idempotency.Claim
		for i, a := range answers {
			switch {
			case a.err != nil:
				e.t.Fatalf("round %d: Claim %s: %v", round, claims[i].ID, a.err)
			case a.won:
				winners = append(winners, claims[i])
			case a.holder != nil && e.opts.NoHolder:
				e.t.Errorf("round %d: holder %s from a store documented to report none", round, showClaim(a.holder))
			case a.holder != nil && !slices.ContainsFunc(claims, func(c idempotency.Claim) bool { return e.sameClaim(a.holder, &c) }):
				e.t.Errorf("round %d: holder %s is none of the claims made", round, showClaim(a.holder))
			}
		}
		if len(winners) == 0 || (len(winners) > 1 && !e.opts.RacingClaims) {
			e.t.Fatalf("round %d: %d of %d concurrent claims won, want exactly one", round, len(winners), Concurrency)
		}
		_, held := e.lookup(key)
		if !slices.ContainsFunc(winners, func(c idempotency.Claim) bool { return e.sameClaim(held, &c) }) {
			e.t.Errorf("round %d: the key is held by %s, which is not a winner's claim", round, showClaim(held))
		}
	}
}

// recordKeysIndependent: the records of calls whose record keys differ (the
// empty operation's keys of the order intake, other operations' keys,
// scopes) never meet in the store.
func recordKeysIndependent(e *env) {
	calls := []idempotency.Call{
		{Key: "k"},
		{Scope: "acme", Key: "k"},
		{Operation: "POST /webhooks", Key: "k"},
		{Operation: "POST /webhooks", Scope: "acme", Key: "k"},
		{Operation: "POST /refunds", Key: "k"},
		{Operation: "charge", Scope: "acme", Key: "k"},
	}
	keys := map[string]idempotency.Call{}
	for _, call := range calls {
		key := call.RecordKey()
		if other, ok := keys[key]; ok {
			e.t.Fatalf("calls %+v and %+v share the record key %q", call, other, key)
		}
		keys[key] = call
	}
	results := map[string]idempotency.Result{}
	for key, call := range keys {
		c := e.newClaim(call.Operation+"/"+call.Scope, Lease)
		e.mustClaim(key, c)
		results[key] = e.newResult(c.Fingerprint, time.Hour, 200, map[string]string{"Content-Type": "text/plain"}, "answer of "+key)
		e.complete(key, c, results[key])
	}
	for key, r := range results {
		e.wantResult(key, r, fmt.Sprintf("the record key %q among %d", key, len(results)))
	}
}

// noAliasing: changing the maps of a Result passed to Complete, or of one
// Lookup returned, changes nothing stored.
func noAliasing(e *env) {
	c := e.newClaim("fp", Lease)
	e.mustClaim("k", c)
	header := map[string]string{"Content-Type": "application/json", "Location": "/x"}
	r := e.newResult("fp", time.Hour, 201, header, `{"ok":true}`)
	e.complete("k", c, r)
	want := r
	want.Header = maps.Clone(header)
	header["Location"] = "/changed-after-complete"
	e.wantResult("k", want, "after the caller changed the header map it passed to Complete")

	got, _ := e.lookup("k")
	if got == nil {
		e.t.Fatal("no result")
	}
	got.Header["Location"] = "/changed-after-lookup"
	got.Header["Set-Cookie"] = "x=y"
	got.Status = 500
	e.wantResult("k", want, "after the caller changed a looked-up result")
}

// emptyFingerprint: a call need not carry a fingerprint (a function whose
// key alone says what it does).
func emptyFingerprint(e *env) {
	c := e.newClaim("", Lease)
	e.mustClaim("k", c)
	e.wantClaim("k", c, "a claim without a fingerprint")
	r := e.newResult("", time.Hour, 200, map[string]string{"Content-Type": "text/plain"}, "done")
	e.complete("k", c, r)
	e.wantResult("k", r, "a result without a fingerprint")
}

// corruptRecord: a record that cannot be decoded is reported as such,
// never as a fresh key.
func corruptRecord(e *env) {
	if e.opts.Corrupt == nil {
		e.t.Skip("the store's records cannot be corrupted (Options.Corrupt is nil)")
	}
	e.opts.Corrupt(e.t, e.store, "k")
	result, claim, err := e.store.Lookup(e.ctx, "k")
	if !errors.Is(err, idempotency.ErrCorruptRecord) {
		e.t.Errorf("Lookup of a corrupt record = %s, %s, %v; want ErrCorruptRecord", showResult(result), showClaim(claim), err)
	}
}
