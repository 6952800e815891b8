package testservers

import (
	"errors"
	"fmt"
	"testing"
)

// recorder is a testing.TB that records a failure instead of ending the
// test.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

// A server that cannot be had fails the test, in CI or not, and the
// failure says how to get one.
func TestAMissingServerFails(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("redis-server %w", errNotInstalled), "redis: redis-server not installed (scripts/services/install.sh installs it); or set REDIS_URL"},
		{errors.New("redis exited at start"), "redis: redis exited at start; or set REDIS_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			r := &recorder{TB: t}
			unavailable(r, "redis", tt.err)
			if r.failed != tt.want {
				t.Errorf("failed with %q, want %q", r.failed, tt.want)
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
