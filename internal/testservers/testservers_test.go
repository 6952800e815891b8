package testservers

import (
	"errors"
	"fmt"
	"testing"
)

// recorder is a testing.TB that records a skip or a failure instead of
// ending the test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Skipf(format string, args ...any)  { r.skipped = fmt.Sprintf(format, args...) }
func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

// A server that cannot be had fails the test under CI=true, always; outside
// CI a missing binary skips it, saying how to get one, and any other
// failure still fails it.
func TestAMissingServerFailsInCI(t *testing.T) {
	notInstalled := fmt.Errorf("redis-server %w", errNotInstalled)
	tests := []struct {
		ci         string
		err        error
		wantFailed bool
	}{
		{"true", notInstalled, true},
		{"", notInstalled, false},
		{"", errors.New("redis exited at start"), true},
		{"true", errors.New("redis exited at start"), true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("CI=%q, %v", tt.ci, tt.err), func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			r := &recorder{TB: t}
			unavailable(r, "redis", tt.err)
			if (r.failed != "") != tt.wantFailed || (r.failed == "") == (r.skipped == "") {
				t.Errorf("failed %q, skipped %q; want it to fail: %v", r.failed, r.skipped, tt.wantFailed)
			}
			if r.skipped != "" && r.skipped != "redis: redis-server not installed (scripts/services/install.sh installs it); or set REDIS_URL" {
				t.Errorf("skipped with %q: it must say how to get the server", r.skipped)
			}
		})
	}
}

// Without redis-server or valkey-server on PATH, NewRedis says the server
// is not installed (the error that fails CI).
func TestNewRedisWithoutTheBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := NewRedis(false); !errors.Is(err, errNotInstalled) {
		t.Errorf("NewRedis = %v, want errNotInstalled", err)
	}
}
