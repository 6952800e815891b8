package intake

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
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
	// PlacementURL, when set, is the order gateway every new order is sent
	// to (docs/downstreams.md#the-order-gateway); unset, placing an order means minting its receipt.
	PlacementURL string
	// PlacementToken, when set, is sent to the gateway as a bearer token.
	PlacementToken string
	// PlacementTimeout bounds the wait for the gateway's answer.
	PlacementTimeout time.Duration
	// ResultCacheEntries bounds each isolate's cache of results; 0 turns it
	// off (idempotency.ResultCache).
	ResultCacheEntries int
	// QueueRetryBase is the delay before a queued order's first retry
	// (docs/queue-mode.md); each further retry doubles it, up to MaxRetryDelay.
	QueueRetryBase time.Duration
	// QueueMaxRetries is the queue consumer's max_retries in wrangler.toml,
	// which the worker cannot read from its binding: a message's last
	// delivery is attempt QueueMaxRetries+1.
	QueueMaxRetries int
	// QueueDeadLetter names the dead-letter queue this worker also consumes
	// (its batches settle orders instead of retrying them); "" when none.
	QueueDeadLetter string
}

type setting struct {
	name         string
	dflt, lo, hi int
	unitName     string
	set          func(n int)
}

// in returns the function that stores a setting of n units into d.
func in(d *time.Duration, unit time.Duration) func(int) {
	return func(n int) { *d = time.Duration(n) * unit }
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
	misconfigured := func(err error) (Settings, error) { return Settings{Clients: s.Clients}, err }
	for _, st := range []setting{
		{"PENDING_LEASE_SECONDS", 30, 1, 3600, "seconds", in(&s.Lease, time.Second)},
		// KV refuses an expirationTtl below 60 s.
		{"RESULT_TTL_SECONDS", 86400, 60, 365 * 86400, "seconds", in(&s.ResultTTL, time.Second)},
		{"PLACEMENT_TIMEOUT_MS", 5000, 100, 60000, "milliseconds", in(&s.PlacementTimeout, time.Millisecond)},
		// Bounded so that a full cache keeps the Wasm memory well under the
		// line at which the glue retires a runtime, and its cache with it
		// (BENCHMARKS.md, "what one cache entry costs").
		{"RESULT_CACHE_ENTRIES", 1000, 0, 5000, "entries", func(n int) { s.ResultCacheEntries = n }},
		{"QUEUE_RETRY_BASE_SECONDS", 5, 1, 3600, "seconds", in(&s.QueueRetryBase, time.Second)},
		// Cloudflare's own default and maximum of max_retries.
		{"QUEUE_MAX_RETRIES", 3, 0, 100, "retries", func(n int) { s.QueueMaxRetries = n }},
	} {
		n := st.dflt
		if raw := getenv(st.name); raw != "" {
			v, err := strconv.Atoi(raw)
			if err != nil || v < st.lo || v > st.hi {
				return misconfigured(fmt.Errorf("setting %s must be a whole number of %s from %d to %d, got %q", st.name, st.unitName, st.lo, st.hi, raw))
			}
			n = v
		}
		st.set(n)
	}
	if raw := getenv("PLACEMENT_URL"); raw != "" {
		if err := checkPlacementURL(raw); err != nil {
			return misconfigured(err)
		}
		s.PlacementURL = raw
	}
	if name := getenv("QUEUE_DEAD_LETTER_QUEUE"); name != "" {
		// Cloudflare's queue names: lower-case letters, digits and dashes.
		if len(name) > 63 || strings.IndexFunc(name, func(r rune) bool { return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-') }) >= 0 {
			return misconfigured(fmt.Errorf("setting QUEUE_DEAD_LETTER_QUEUE must be a queue name (at most 63 of a-z, 0-9 and -), got %q", name))
		}
		s.QueueDeadLetter = name
	}
	if token := getenv("PLACEMENT_TOKEN"); token != "" {
		// The message never quotes the token: it is a secret.
		if strings.IndexFunc(token, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
			return misconfigured(errors.New("setting PLACEMENT_TOKEN must be visible ASCII with no spaces (it is sent as Authorization: Bearer <token>)"))
		}
		s.PlacementToken = token
	}
	return s, nil
}

// checkPlacementURL allows https, and plain http only to this machine (a
// local stand-in): order and bearer token must not cross a network in clear.
// Its messages do not quote the URL, whose query could hold a credential.
func checkPlacementURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return errors.New("setting PLACEMENT_URL must be an absolute URL such as https://oms.example.com/orders")
	}
	if u.User != nil {
		return errors.New("setting PLACEMENT_URL must not carry credentials; put the token in the secret PLACEMENT_TOKEN")
	}
	host := u.Hostname()
	local := host == "127.0.0.1" || strings.EqualFold(host, "localhost")
	if u.Scheme == "https" || (u.Scheme == "http" && local) {
		return nil
	}
	return fmt.Errorf("setting PLACEMENT_URL must be https://, or http:// to 127.0.0.1 or localhost only; got %s:// to %s", u.Scheme, host)
}
