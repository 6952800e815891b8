package order

import (
	"strings"
	"testing"
	"time"
)

func TestParseSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		env          map[string]string
		want         Settings
		wrongSetting string
	}{
		{"defaults", nil, Settings{Lease: 30 * time.Second, ResultTTL: 86400 * time.Second}, ""},
		{"empty means default", map[string]string{"PENDING_LEASE_SECONDS": ""}, Settings{Lease: 30 * time.Second, ResultTTL: 86400 * time.Second}, ""},
		{"set", map[string]string{"PENDING_LEASE_SECONDS": "2", "RESULT_TTL_SECONDS": "60"}, Settings{Lease: 2 * time.Second, ResultTTL: 60 * time.Second}, ""},
		{"lease zero", map[string]string{"PENDING_LEASE_SECONDS": "0"}, Settings{}, "PENDING_LEASE_SECONDS"},
		{"lease too long", map[string]string{"PENDING_LEASE_SECONDS": "3601"}, Settings{}, "PENDING_LEASE_SECONDS"},
		{"lease not whole", map[string]string{"PENDING_LEASE_SECONDS": "1.5"}, Settings{}, "PENDING_LEASE_SECONDS"},
		{"lease a word", map[string]string{"PENDING_LEASE_SECONDS": "thirty"}, Settings{}, "PENDING_LEASE_SECONDS"},
		{"a TOML number", map[string]string{"PENDING_LEASE_SECONDS": "<number: 30>"}, Settings{}, "PENDING_LEASE_SECONDS"},
		{"result TTL below KV's floor", map[string]string{"RESULT_TTL_SECONDS": "59"}, Settings{}, "RESULT_TTL_SECONDS"},
		{"result TTL with spaces", map[string]string{"RESULT_TTL_SECONDS": " 600"}, Settings{}, "RESULT_TTL_SECONDS"},
	}
	for _, tt := range tests {
		got, err := ParseSettings(func(name string) string { return tt.env[name] })
		if tt.wrongSetting != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wrongSetting) {
				t.Errorf("%s: error %v does not name %s", tt.name, err, tt.wrongSetting)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
}
