package order

import (
	"fmt"
	"strconv"
	"time"
)

// Settings are the worker's tunables, read from its environment ([vars]).
type Settings struct {
	// Lease is how long a claim blocks retries of its key.
	Lease time.Duration
	// ResultTTL is how long a completed result is kept for replays.
	ResultTTL time.Duration
	// Clients, when not nil, must authenticate and each gets its own key
	// scope. nil means open: anyone may place orders (local development).
	Clients *Clients
}

type setting struct {
	name         string
	dflt, lo, hi int
	into         *time.Duration
}

// ParseSettings reads the settings through getenv. An unset or empty setting
// takes its default; any other value that is not a whole number in range is
// an error naming the setting, never a silent fallback. CLIENT_TOKENS is read
// first and kept even when a later setting is wrong, so that callers still
// authenticate before they are told about the misconfiguration.
func ParseSettings(getenv func(string) string) (Settings, error) {
	var s Settings
	if raw := getenv("CLIENT_TOKENS"); raw != "" {
		clients, err := ParseClients(raw)
		if err != nil {
			return Settings{}, err
		}
		s.Clients = clients
	}
	for _, st := range []setting{
		{"PENDING_LEASE_SECONDS", 30, 1, 3600, &s.Lease},
		// KV refuses an expirationTtl below 60 s.
		{"RESULT_TTL_SECONDS", 86400, 60, 365 * 86400, &s.ResultTTL},
	} {
		n := st.dflt
		if raw := getenv(st.name); raw != "" {
			v, err := strconv.Atoi(raw)
			if err != nil || v < st.lo || v > st.hi {
				return Settings{Clients: s.Clients}, fmt.Errorf("setting %s must be a whole number of seconds from %d to %d, got %q", st.name, st.lo, st.hi, raw)
			}
			n = v
		}
		*st.into = time.Duration(n) * time.Second
	}
	return s, nil
}
