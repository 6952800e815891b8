package kvstore

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Op names a kind of KV operation, for counting and for injecting faults.
type Op string

// The operations of a Namespace.
const (
	OpGet    Op = "get"
	OpPut    Op = "put"
	OpDelete Op = "delete"
)

// Fake is an in-memory Namespace that behaves like Workers KV where order intake
// depends on it: values expire on an injectable clock, a TTL below 60 s and a
// key over 512 bytes are refused with KV's own errors, and writes reach other
// edge locations only after a propagation lag (KV is eventually consistent;
// `wrangler dev` is not, so this is the only place cross-location races show).
// Tests can make the Nth call of an operation fail and read per-operation
// counters to assert the KV budget of a path.
type Fake struct {
	mu       sync.Mutex
	now      func() time.Time
	lag      time.Duration
	versions map[string][]version // oldest first
	calls    map[Op]int
	faults   map[fault]error
}

type version struct {
	value     string
	deleted   bool
	expiresAt time.Time
	writtenAt time.Time
	location  string
}

type fault struct {
	op Op
	n  int
}

// NewFake returns an empty namespace whose expiry follows now. Writes are
// visible everywhere at once until SetPropagationLag says otherwise.
func NewFake(now func() time.Time) *Fake {
	return &Fake{now: now, versions: map[string][]version{}, calls: map[Op]int{}, faults: map[fault]error{}}
}

// SetPropagationLag makes a write visible at other locations (see At) only
// lag after it was made. Real KV takes up to about 60 s.
func (f *Fake) SetPropagationLag(lag time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lag = lag
}

// At returns the namespace as one edge location sees it: its own writes at
// once, other locations' writes after the propagation lag. The Fake itself is
// location "".
func (f *Fake) At(location string) Namespace { return locationView{f, location} }

// FailNth makes the nth call (counting from 1, over the Fake's life) of op
// fail with err.
func (f *Fake) FailNth(op Op, n int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[fault{op, n}] = err
}

// Calls reports how many times op was called, failed calls included.
func (f *Fake) Calls(op Op) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// Stored returns the newest live value under key as every location will
// eventually see it, without counting a call.
func (f *Fake) Stored(key string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	vs := f.versions[key]
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1].live(f.now())
}

// Get reads key as the location of the Fake itself sees it.
func (f *Fake) Get(ctx context.Context, key string) (string, bool, error) {
	return f.get(ctx, "", key)
}

// Put writes key from the location of the Fake itself.
func (f *Fake) Put(ctx context.Context, key, value string, ttlSeconds int) error {
	return f.write(ctx, "", key, version{value: value}, ttlSeconds)
}

// Delete deletes key from the location of the Fake itself.
func (f *Fake) Delete(ctx context.Context, key string) error {
	return f.write(ctx, "", key, version{deleted: true}, 0)
}

type locationView struct {
	f        *Fake
	location string
}

func (v locationView) Get(ctx context.Context, key string) (string, bool, error) {
	return v.f.get(ctx, v.location, key)
}

func (v locationView) Put(ctx context.Context, key, value string, ttlSeconds int) error {
	return v.f.write(ctx, v.location, key, version{value: value}, ttlSeconds)
}

func (v locationView) Delete(ctx context.Context, key string) error {
	return v.f.write(ctx, v.location, key, version{deleted: true}, 0)
}

func (f *Fake) get(ctx context.Context, location, key string) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(ctx, OpGet, key); err != nil {
		return "", false, err
	}
	now := f.now()
	vs := f.versions[key]
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].location == location || !now.Before(vs[i].writtenAt.Add(f.lag)) {
			value, ok := vs[i].live(now)
			return value, ok, nil
		}
	}
	return "", false, nil
}

func (f *Fake) write(ctx context.Context, location, key string, v version, ttlSeconds int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	op := OpPut
	if v.deleted {
		op = OpDelete
	}
	if err := f.begin(ctx, op, key); err != nil {
		return err
	}
	if !v.deleted && ttlSeconds < MinTTLSeconds {
		//lint:ignore ST1005 Workers KV's own message, word for word, so tests match what the platform says
		return fmt.Errorf("KV PUT failed: 400 Invalid expiration_ttl of %d. Expiration TTL must be at least %d.", ttlSeconds, MinTTLSeconds)
	}
	v.writtenAt = f.now()
	v.location = location
	v.expiresAt = v.writtenAt.Add(time.Duration(ttlSeconds) * time.Second)
	f.versions[key] = append(f.versions[key], v)
	return nil
}

// begin counts the call and applies what real KV would refuse first.
func (f *Fake) begin(ctx context.Context, op Op, key string) error {
	f.calls[op]++
	if err := ctx.Err(); err != nil {
		return err
	}
	if err, ok := f.faults[fault{op, f.calls[op]}]; ok {
		return err
	}
	if key == "" {
		return fmt.Errorf("KV %s failed: 400 Invalid key name", op)
	}
	if len(key) > MaxKeyBytes {
		//lint:ignore ST1005 Workers KV's own message, word for word
		return fmt.Errorf("KV %s failed: 414 UTF-8 encoded length of %d exceeds key length limit of %d.", op, len(key), MaxKeyBytes)
	}
	return nil
}

func (v version) live(now time.Time) (string, bool) {
	if v.deleted || !now.Before(v.expiresAt) {
		return "", false
	}
	return v.value, true
}

// Clock is a settable clock for tests of anything that expires.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
