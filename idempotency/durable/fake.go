package durable

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// Fake is Objects in memory for native tests, with the semantics of the
// IdempotencyRecords class (isolate/records.mjs) method for method: each
// object's calls run one at a time, as a Durable Object's do, and each
// method applies the same conditions as its statement there. Fail makes a
// call fail as an object that throws or cannot be reached does.
type Fake struct {
	mu      sync.Mutex
	objects map[string]map[string]record // object name -> record key -> record
	fail    map[string]error
	calls   map[string]int
}

// NewFake returns objects holding nothing.
func NewFake() *Fake {
	return &Fake{objects: map[string]map[string]record{}, fail: map[string]error{}, calls: map[string]int{}}
}

// Fail makes the next call of method ("get", "claim", "complete" or
// "release") return err, touching nothing.
func (f *Fake) Fail(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = err
}

// Calls reports how many times method was called.
func (f *Fake) Calls(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// Objects lists the names of the objects that hold a record, expired or not.
func (f *Fake) Objects() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for name, records := range f.objects {
		if len(records) > 0 {
			names = append(names, name)
		}
	}
	return names
}

// Corrupt stores under key a completed record, alive until expiresAt,
// whose result no decoder accepts.
func (f *Fake) Corrupt(key string, expiresAt time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	garbage := "{not a result"
	f.object(ObjectName(key))[key] = record{Fingerprint: "fp", Result: &garbage, ExpiresAt: expiresAt.UnixMilli()}
}

func (f *Fake) object(name string) map[string]record {
	records := f.objects[name]
	if records == nil {
		records = map[string]record{}
		f.objects[name] = records
	}
	return records
}

// Call runs method on the object named name, as the class does.
func (f *Fake) Call(_ context.Context, name, method string, arg []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
	if err := f.fail[method]; err != nil {
		delete(f.fail, method)
		return nil, err
	}
	var a args
	if err := json.Unmarshal(arg, &a); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	records := f.object(name)
	r, held := records[a.Key]
	var reply any
	switch method {
	case "get":
		if held && r.ExpiresAt > a.Now {
			reply = r
		}
	case "claim":
		free := !held || r.ExpiresAt <= a.ClaimedAt || (r.Result == nil && r.LeaseUntil <= a.ClaimedAt)
		if free {
			records[a.Key] = record{Fingerprint: a.Fingerprint, ClaimedAt: a.ClaimedAt, LeaseUntil: a.LeaseUntil, ExpiresAt: a.ExpiresAt}
		}
		reply = free
	case "complete":
		mine := held && r.Result == nil && r.ClaimedAt == a.ClaimedAt && r.Fingerprint == a.Fingerprint
		if mine {
			result := a.Result
			r.Result, r.ExpiresAt = &result, a.ExpiresAt
			records[a.Key] = r
		}
		reply = mine
	case "release":
		if held && r.Result == nil && r.ClaimedAt == a.ClaimedAt && r.Fingerprint == a.Fingerprint {
			delete(records, a.Key)
		}
	default:
		return nil, fmt.Errorf("%s is not a method of IdempotencyRecords", method)
	}
	return json.Marshal(reply)
}
