package intake

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Clients are the callers allowed to place orders, each known by the SHA-256
// of its bearer token. Storing hashes means a leaked setting gives away no
// usable token; tokens are random 256-bit strings, so a plain hash (not a
// password KDF) is the right tool.
type Clients struct {
	ids    []string
	hashes [][sha256.Size]byte
}

// OpenWarning is logged when no clients are configured, once per Go runtime
// (a runtime serves many requests of one isolate).
const OpenWarning = `{"level":"warn","message":"CLIENT_TOKENS is not set: this worker accepts orders from anyone. Configure it before deploying (README.md#settings)."}`

// validClientID keeps ids to 1–64 of A-Z a-z 0-9 . _ -: printable and free
// of ':' and newlines, so that "<id>:" is an unambiguous record scope and the
// order id derivation cannot be confused. (A loop, not a regexp: a
// package-level regexp compiles at every runtime start and adds the regexp
// package to the module.)
func validClientID(id string) bool {
	if len(id) < 1 || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// ParseClients reads the CLIENT_TOKENS setting: a JSON object mapping each
// client id to the hex SHA-256 of its token. Errors never quote the setting:
// it is a secret.
func ParseClients(raw string) (*Clients, error) {
	var byID map[string]string
	if err := json.Unmarshal([]byte(raw), &byID); err != nil || byID == nil {
		return nil, errors.New(`setting CLIENT_TOKENS must be a JSON object {"<client id>":"<hex SHA-256 of its token>", …}`)
	}
	if len(byID) == 0 {
		return nil, errors.New("setting CLIENT_TOKENS names no client; leave it unset to run open")
	}
	c := &Clients{}
	seen := map[[sha256.Size]byte]bool{}
	for id, hexHash := range byID {
		if !validClientID(id) {
			return nil, fmt.Errorf("setting CLIENT_TOKENS: client id %q must be 1 to 64 of A-Z a-z 0-9 . _ -", id)
		}
		var h [sha256.Size]byte
		if n, err := hex.Decode(h[:], []byte(hexHash)); err != nil || n != sha256.Size || len(hexHash) != 2*sha256.Size {
			return nil, fmt.Errorf("setting CLIENT_TOKENS: the value for client %q must be 64 hex digits (the SHA-256 of its token)", id)
		}
		if seen[h] {
			return nil, fmt.Errorf("setting CLIENT_TOKENS: client %q shares its token hash with another client", id)
		}
		seen[h] = true
		c.ids = append(c.ids, id)
		c.hashes = append(c.hashes, h)
	}
	return c, nil
}

// Authenticate returns the id of the client whose token the Authorization
// header values carry. Every known hash is compared, in constant time, so
// the time taken says nothing about which client (if any) matched.
func (c *Clients) Authenticate(authorization []string) (string, bool) {
	if len(authorization) != 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(authorization[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	sum := sha256.Sum256([]byte(token))
	match := -1
	for i := range c.hashes {
		if subtle.ConstantTimeCompare(sum[:], c.hashes[i][:]) == 1 {
			match = i
		}
	}
	if match < 0 {
		return "", false
	}
	return c.ids[match], true
}
