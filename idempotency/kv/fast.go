package kv

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/internal/jsontext"
)

// Decoding a record by hand, for the records this package writes: under
// WebAssembly, encoding/json's reflection was a large share of a replay
// that misses the result cache (BENCHMARKS.md). decodeFast handles only
// what it understands completely (each member once, under its exact name,
// strings of printable ASCII and the escapes json.Marshal writes for them)
// and reports ok = false for anything else, which encoding/json then
// decodes; so both give the same record. fast_test.go compares them.

// decodeFast decodes raw into record, a *resultRecord or an
// *idempotency.Claim.
func decodeFast(raw string, record any) bool {
	d := decoder{s: raw}
	switch r := record.(type) {
	case *resultRecord:
		return d.object(func(name string) bool {
			switch name {
			case "fingerprint":
				return d.str(&r.Fingerprint)
			case "status":
				return d.int(&r.Status)
			case "header":
				return d.header(&r.Header)
			case "body":
				return d.str(&r.Body)
			case "bodyBase64":
				return d.str(&r.BodyBase64)
			case "completedAt":
				return d.time(&r.CompletedAt)
			case "expiresAt":
				return d.time(&r.ExpiresAt)
			}
			return false
		})
	case *idempotency.Claim:
		return d.object(func(name string) bool {
			switch name {
			case "fingerprint":
				return d.str(&r.Fingerprint)
			case "claimId":
				return d.str(&r.ID)
			case "claimedAt":
				return d.time(&r.ClaimedAt)
			case "leaseUntil":
				return d.time(&r.LeaseUntil)
			}
			return false
		})
	}
	return false
}

type decoder struct {
	s string
	i int
}

func (d *decoder) space() {
	for d.i < len(d.s) && (d.s[d.i] == ' ' || d.s[d.i] == '\t' || d.s[d.i] == '\n' || d.s[d.i] == '\r') {
		d.i++
	}
}

func (d *decoder) next(c byte) bool {
	d.space()
	if d.i < len(d.s) && d.s[d.i] == c {
		d.i++
		return true
	}
	return false
}

// object reads the whole input as one object whose members member decodes,
// each name at most once; nothing but whitespace may follow it.
func (d *decoder) object(member func(name string) bool) bool {
	if !d.next('{') {
		return false
	}
	var seen [8]string
	n := 0
	if !d.next('}') {
		for {
			var name string
			if !d.str(&name) || n == len(seen) || !d.next(':') {
				return false
			}
			for _, s := range seen[:n] {
				if s == name {
					return false
				}
			}
			seen[n] = name
			n++
			d.space()
			if !member(name) {
				return false
			}
			if d.next('}') {
				break
			}
			if !d.next(',') {
				return false
			}
		}
	}
	d.space()
	return d.i == len(d.s)
}

// str reads a JSON string of printable ASCII, with the short escapes and
// \u escapes of characters outside the surrogates.
func (d *decoder) str(out *string) bool {
	if !d.next('"') {
		return false
	}
	start := d.i
	for d.i < len(d.s) {
		switch c := d.s[d.i]; {
		case c == '"':
			*out = d.s[start:d.i]
			d.i++
			return true
		case c == '\\':
			return d.escaped(out, start)
		case c < 0x20 || c > 0x7e:
			return false
		}
		d.i++
	}
	return false
}

// escaped finishes a string whose first escape is at d.i.
func (d *decoder) escaped(out *string, start int) bool {
	b := []byte(d.s[start:d.i])
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			*out = string(b)
			d.i++
			return true
		case c < 0x20 || c > 0x7e:
			return false
		case c != '\\':
			b = append(b, c)
			d.i++
			continue
		}
		if d.i+1 >= len(d.s) {
			return false
		}
		switch e := d.s[d.i+1]; e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			if d.i+6 > len(d.s) {
				return false
			}
			r, err := strconv.ParseUint(d.s[d.i+2:d.i+6], 16, 32)
			if err != nil || (r >= 0xd800 && r < 0xe000) {
				return false // a surrogate: encoding/json pairs them
			}
			b = utf8.AppendRune(b, rune(r))
			d.i += 4
		default:
			return false
		}
		d.i += 2
	}
	return false
}

// int reads a whole number of at most 9 digits, without a leading zero.
func (d *decoder) int(out *int) bool {
	start := d.i
	if d.i < len(d.s) && d.s[d.i] == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.s) && d.s[d.i] >= '0' && d.s[d.i] <= '9' {
		d.i++
	}
	n := d.i - digits
	if n == 0 || n > 9 || (n > 1 && d.s[digits] == '0') {
		return false
	}
	if d.i < len(d.s) && (d.s[d.i] == '.' || d.s[d.i] == 'e' || d.s[d.i] == 'E') {
		return false
	}
	v, err := strconv.Atoi(d.s[start:d.i])
	*out = v
	return err == nil
}

// time reads a time as time.Time's UnmarshalJSON does, which encoding/json
// calls.
func (d *decoder) time(out *time.Time) bool {
	start := d.i
	var s string
	if !d.str(&s) || d.i-start != len(s)+2 { // no escapes
		return false
	}
	return out.UnmarshalJSON([]byte(d.s[start:d.i])) == nil
}

// header reads an object of strings, as encoding/json decodes it into a
// map[string]string.
func (d *decoder) header(out *map[string]string) bool {
	if !d.next('{') {
		return false
	}
	m := map[string]string{}
	if !d.next('}') {
		for {
			var name, value string
			if !d.str(&name) || !d.next(':') {
				return false
			}
			d.space()
			if _, dup := m[name]; dup || !d.str(&value) {
				return false
			}
			m[name] = value
			if d.next('}') {
				break
			}
			if !d.next(',') {
				return false
			}
		}
	}
	*out = m
	return true
}

// Encoding by hand, the other way: appendClaim and appendResultRecord write
// a record as json.Marshal does, byte for byte, and report ok = false for
// what they do not write exactly alike (a string that is not printable
// ASCII or holds '<', '>' or '&', a year outside 0–9999), which json.Marshal
// then encodes. fast_test.go compares them.

// marshalRecord is json.Marshal(record) for a *resultRecord or an
// *idempotency.Claim, through the hand-written encoder where it answers.
func marshalRecord(record any) ([]byte, error) {
	var b []byte
	ok := false
	switch r := record.(type) {
	case *resultRecord:
		b, ok = appendResultRecord(make([]byte, 0, 256+len(r.Body)+len(r.BodyBase64)), r)
	case *idempotency.Claim:
		b, ok = appendClaim(make([]byte, 0, 192), r)
	}
	if ok {
		return b, nil
	}
	return json.Marshal(record)
}

func appendClaim(b []byte, c *idempotency.Claim) ([]byte, bool) {
	ok := true
	b = append(b, `{"fingerprint":`...)
	b, ok = appendString(b, c.Fingerprint, ok)
	if c.ID != "" {
		b = append(b, `,"claimId":`...)
		b, ok = appendString(b, c.ID, ok)
	}
	b = append(b, `,"claimedAt":`...)
	b, ok = appendTime(b, c.ClaimedAt, ok)
	b = append(b, `,"leaseUntil":`...)
	b, ok = appendTime(b, c.LeaseUntil, ok)
	return append(b, '}'), ok
}

func appendResultRecord(b []byte, r *resultRecord) ([]byte, bool) {
	ok := true
	b = append(b, `{"fingerprint":`...)
	b, ok = appendString(b, r.Fingerprint, ok)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	if len(r.Header) > 0 {
		names := make([]string, 0, len(r.Header))
		for name := range r.Header {
			names = append(names, name)
		}
		slices.Sort(names) // as json.Marshal orders a map's keys
		for i, name := range names {
			if i == 0 {
				b = append(b, `,"header":{`...)
			} else {
				b = append(b, ',')
			}
			b, ok = appendString(b, name, ok)
			b = append(b, ':')
			b, ok = appendString(b, r.Header[name], ok)
		}
		b = append(b, '}')
	}
	b = append(b, `,"body":`...)
	b, ok = appendString(b, r.Body, ok)
	b = append(b, `,"completedAt":`...)
	b, ok = appendTime(b, r.CompletedAt, ok)
	if !r.ExpiresAt.IsZero() {
		b = append(b, `,"expiresAt":`...)
		b, ok = appendTime(b, r.ExpiresAt, ok)
	}
	if r.BodyBase64 != "" {
		b = append(b, `,"bodyBase64":`...)
		b, ok = appendString(b, r.BodyBase64, ok)
	}
	return append(b, '}'), ok
}

// appendString appends s as json.Marshal does, while ok; once a value has
// not been, the rest is skipped.
func appendString(b []byte, s string, ok bool) ([]byte, bool) {
	if !ok {
		return b, false
	}
	return jsontext.AppendString(b, s, true)
}

// appendTime appends t as time.Time's MarshalJSON does (RFC 3339 with the
// nanoseconds it has), while ok.
func appendTime(b []byte, t time.Time, ok bool) ([]byte, bool) {
	if !ok || t.Year() < 0 || t.Year() > 9999 {
		return b, false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), true
}
