package intake

import (
	"strings"
	"testing"
	"time"
)

func TestParseSettings(t *testing.T) {
	t.Parallel()
	defaults := Settings{Lease: 30 * time.Second, ResultTTL: 86400 * time.Second, PlacementTimeout: 5 * time.Second,
		ResultCacheEntries: 1000, QueueRetryBase: 5 * time.Second, QueueMaxRetries: 3}
	with := func(change func(*Settings)) Settings {
		s := defaults
		change(&s)
		return s
	}
	tests := []struct {
		name         string
		env          map[string]string
		want         Settings
		wrongSetting string
	}{
		{"defaults", nil, defaults, ""},
		{"empty means default", map[string]string{"PENDING_LEASE_SECONDS": "", "PLACEMENT_URL": ""}, defaults, ""},
		{"set", map[string]string{"PENDING_LEASE_SECONDS": "2", "RESULT_TTL_SECONDS": "60"},
			with(func(s *Settings) { s.Lease, s.ResultTTL = 2*time.Second, 60*time.Second }), ""},
		{"lease zero", map[string]string{"PENDING_LEASE_SECONDS": "0"}, Settings{}, "PENDING_LEASE_SECONDS"},
		{"lease too long", map[string]string{"PENDING_LEASE_SECONDS": "3601"}, Settings{}, "PENDING_LEASE_SECONDS"},
		{"lease not whole", map[string]string{"PENDING_LEASE_SECONDS": "1.5"}, Settings{}, "PENDING_LEASE_SECONDS"},
		{"lease a word", map[string]string{"PENDING_LEASE_SECONDS": "thirty"}, Settings{}, "PENDING_LEASE_SECONDS"},
		{"a TOML number", map[string]string{"PENDING_LEASE_SECONDS": "<number: 30>"}, Settings{}, "PENDING_LEASE_SECONDS"},
		{"result TTL below KV's floor", map[string]string{"RESULT_TTL_SECONDS": "59"}, Settings{}, "RESULT_TTL_SECONDS"},
		{"result TTL with spaces", map[string]string{"RESULT_TTL_SECONDS": " 600"}, Settings{}, "RESULT_TTL_SECONDS"},
		{"cache off", map[string]string{"RESULT_CACHE_ENTRIES": "0"}, with(func(s *Settings) { s.ResultCacheEntries = 0 }), ""},
		{"cache of 5000", map[string]string{"RESULT_CACHE_ENTRIES": "5000"}, with(func(s *Settings) { s.ResultCacheEntries = 5000 }), ""},
		{"cache negative", map[string]string{"RESULT_CACHE_ENTRIES": "-1"}, Settings{}, "RESULT_CACHE_ENTRIES"},
		{"cache too large", map[string]string{"RESULT_CACHE_ENTRIES": "5001"}, Settings{}, "RESULT_CACHE_ENTRIES"},
		{"cache of the earlier maximum", map[string]string{"RESULT_CACHE_ENTRIES": "100000"}, Settings{}, "RESULT_CACHE_ENTRIES"},

		{"gateway over https", map[string]string{"PLACEMENT_URL": "https://oms.example.com/orders", "PLACEMENT_TOKEN": "s3cr3t-t0ken", "PLACEMENT_TIMEOUT_MS": "100"},
			with(func(s *Settings) {
				s.PlacementURL, s.PlacementToken, s.PlacementTimeout = "https://oms.example.com/orders", "s3cr3t-t0ken", 100*time.Millisecond
			}), ""},
		{"gateway on 127.0.0.1 over http", map[string]string{"PLACEMENT_URL": "http://127.0.0.1:8790/orders", "PLACEMENT_TIMEOUT_MS": "60000"},
			with(func(s *Settings) { s.PlacementURL, s.PlacementTimeout = "http://127.0.0.1:8790/orders", time.Minute }), ""},
		{"gateway on localhost over http", map[string]string{"PLACEMENT_URL": "http://localhost/orders"},
			with(func(s *Settings) { s.PlacementURL = "http://localhost/orders" }), ""},
		{"gateway over http elsewhere", map[string]string{"PLACEMENT_URL": "http://oms.example.com/orders"}, Settings{}, "PLACEMENT_URL"},
		{"gateway over http to a LAN address", map[string]string{"PLACEMENT_URL": "http://10.0.0.5/orders"}, Settings{}, "PLACEMENT_URL"},
		{"gateway over http to a lookalike host", map[string]string{"PLACEMENT_URL": "http://localhost.example.com/orders"}, Settings{}, "PLACEMENT_URL"},
		{"gateway with another scheme", map[string]string{"PLACEMENT_URL": "ftp://oms.example.com/orders"}, Settings{}, "PLACEMENT_URL"},
		{"gateway not absolute", map[string]string{"PLACEMENT_URL": "oms.example.com/orders"}, Settings{}, "PLACEMENT_URL"},
		{"gateway without a host", map[string]string{"PLACEMENT_URL": "https:///orders"}, Settings{}, "PLACEMENT_URL"},
		{"gateway with credentials in the URL", map[string]string{"PLACEMENT_URL": "https://u:p@oms.example.com/orders"}, Settings{}, "PLACEMENT_URL"},
		{"timeout too short", map[string]string{"PLACEMENT_TIMEOUT_MS": "99"}, Settings{}, "PLACEMENT_TIMEOUT_MS"},
		{"timeout too long", map[string]string{"PLACEMENT_TIMEOUT_MS": "60001"}, Settings{}, "PLACEMENT_TIMEOUT_MS"},
		{"timeout in seconds", map[string]string{"PLACEMENT_TIMEOUT_MS": "5s"}, Settings{}, "PLACEMENT_TIMEOUT_MS"},
		{"token with a space", map[string]string{"PLACEMENT_URL": "https://oms.example.com", "PLACEMENT_TOKEN": "s3cr3t t0ken"}, Settings{}, "PLACEMENT_TOKEN"},
		{"queue settings", map[string]string{"QUEUE_RETRY_BASE_SECONDS": "1", "QUEUE_MAX_RETRIES": "0", "QUEUE_DEAD_LETTER_QUEUE": "order-intake-placements-dlq"},
			with(func(s *Settings) {
				s.QueueRetryBase, s.QueueMaxRetries, s.QueueDeadLetter = time.Second, 0, "order-intake-placements-dlq"
			}), ""},
		{"queue settings at their maximum", map[string]string{"QUEUE_RETRY_BASE_SECONDS": "3600", "QUEUE_MAX_RETRIES": "100"},
			with(func(s *Settings) { s.QueueRetryBase, s.QueueMaxRetries = time.Hour, 100 }), ""},
		{"retry base zero", map[string]string{"QUEUE_RETRY_BASE_SECONDS": "0"}, Settings{}, "QUEUE_RETRY_BASE_SECONDS"},
		{"retry base too long", map[string]string{"QUEUE_RETRY_BASE_SECONDS": "3601"}, Settings{}, "QUEUE_RETRY_BASE_SECONDS"},
		{"retry base in minutes", map[string]string{"QUEUE_RETRY_BASE_SECONDS": "1m"}, Settings{}, "QUEUE_RETRY_BASE_SECONDS"},
		{"max retries negative", map[string]string{"QUEUE_MAX_RETRIES": "-1"}, Settings{}, "QUEUE_MAX_RETRIES"},
		{"max retries beyond Cloudflare's", map[string]string{"QUEUE_MAX_RETRIES": "101"}, Settings{}, "QUEUE_MAX_RETRIES"},
		{"dead-letter queue with capitals", map[string]string{"QUEUE_DEAD_LETTER_QUEUE": "Orders-DLQ"}, Settings{}, "QUEUE_DEAD_LETTER_QUEUE"},
		{"dead-letter queue with a space", map[string]string{"QUEUE_DEAD_LETTER_QUEUE": "orders dlq"}, Settings{}, "QUEUE_DEAD_LETTER_QUEUE"},
		{"token with a newline", map[string]string{"PLACEMENT_URL": "https://oms.example.com", "PLACEMENT_TOKEN": "s3cr3t\nt0ken"}, Settings{}, "PLACEMENT_TOKEN"},
	}
	for _, tt := range tests {
		got, err := ParseSettings(func(name string) string { return tt.env[name] })
		if tt.wrongSetting != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wrongSetting) {
				t.Errorf("%s: error %v does not name %s", tt.name, err, tt.wrongSetting)
			}
			// Secrets are named, never quoted.
			if err != nil && (strings.Contains(err.Error(), "t0ken") || strings.Contains(err.Error(), "u:p")) {
				t.Errorf("%s: error %q quotes a secret", tt.name, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
}
