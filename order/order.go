// Package order is order intake in pure Go: request checks, the order and its
// receipt, the idempotency state machine and the HTTP handler. It builds and
// tests natively; only main.go and the KV adapter need Wasm.
package order

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxQuantity is 2^53-1, the largest whole number a JavaScript client can
// read back from the receipt exactly.
const MaxQuantity = 1<<53 - 1

const maxSymbolChars = 32

// Order is a validated order.
type Order struct {
	Symbol   string `json:"symbol"`
	Side     string `json:"side"`
	Quantity uint64 `json:"quantity"`
}

// MalformedJSONError is a body that is not a single JSON object.
type MalformedJSONError struct {
	Reason error
}

func (e *MalformedJSONError) Error() string { return "malformed JSON: " + e.Reason.Error() }

// InvalidOrderError lists every bad field of an otherwise well-formed body.
type InvalidOrderError struct {
	Fields map[string]string
}

func (e *InvalidOrderError) Error() string {
	return fmt.Sprintf("invalid order: %d bad field(s)", len(e.Fields))
}

// ParseOrder reads body as one JSON object and validates it as an order. The
// error is a *MalformedJSONError when body is not a single JSON object, and an
// *InvalidOrderError when some fields are wrong (all of them are listed).
func ParseOrder(body []byte) (Order, error) {
	fields, err := decodeObject(body)
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		return Order{}, &MalformedJSONError{Reason: errors.New("the body is empty")}
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return Order{}, &MalformedJSONError{Reason: errors.New("the JSON ends before the object does")}
	case err != nil:
		return Order{}, &MalformedJSONError{Reason: err}
	}
	var o Order
	bad := map[string]string{}
	for name, raw := range fields {
		var problem string
		switch name {
		case "symbol":
			o.Symbol, problem = parseSymbol(raw)
		case "side":
			o.Side, problem = parseSide(raw)
		case "quantity":
			o.Quantity, problem = parseQuantity(raw)
		default:
			problem = "unknown field"
		}
		if problem != "" {
			bad[name] = problem
		}
	}
	for _, required := range []string{"symbol", "side", "quantity"} {
		if _, ok := fields[required]; !ok {
			bad[required] = "required"
		}
	}
	if len(bad) > 0 {
		return Order{}, &InvalidOrderError{Fields: bad}
	}
	return o, nil
}

// decodeObject splits a single JSON object into its members. A repeated
// member name is refused: parsers disagree on which copy wins, and an order
// must not mean two things.
func decodeObject(body []byte) (map[string]json.RawMessage, error) {
	if !utf8.Valid(body) {
		return nil, errors.New("body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil {
		return nil, err
	} else if tok != json.Delim('{') {
		return nil, errors.New("body is not a JSON object")
	}
	fields := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name := tok.(string) // inside an object the decoder only yields string names
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, err
		}
		if _, dup := fields[name]; dup {
			return nil, fmt.Errorf("member %q appears twice", name)
		}
		fields[name] = value
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON object")
	}
	return fields, nil
}

func parseSymbol(raw json.RawMessage) (string, string) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", "must be a string"
	}
	if n := utf8.RuneCountInString(s); n < 1 || n > maxSymbolChars {
		return "", "must be 1 to 32 characters"
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return "", "must not contain whitespace or control characters"
	}
	return s, ""
}

func parseSide(raw json.RawMessage) (string, string) {
	var s string
	if json.Unmarshal(raw, &s) != nil || (s != "buy" && s != "sell") {
		return "", `must be "buy" or "sell"`
	}
	return s, ""
}

// parseQuantity accepts any JSON number whose exact value is a whole number in
// 1..MaxQuantity, so 100, 100.0 and 1e2 are all 100. It works on the decimal
// digits rather than a float64, so 9007199254740990.5 is not rounded into a
// whole number, and on a bounded exponent, so 1e999999999 costs nothing.
func parseQuantity(raw json.RawMessage) (uint64, string) {
	const wrong = "must be a whole number from 1 to 9007199254740991"
	lit := string(raw)
	if lit == "" || (lit[0] != '-' && (lit[0] < '0' || lit[0] > '9')) {
		return 0, "must be a JSON number"
	}
	if lit[0] == '-' {
		return 0, wrong // the decoder has checked the syntax; no negative number is in range
	}
	mantissa, expPart, _ := strings.Cut(strings.ToLower(lit), "e")
	intPart, fracPart, _ := strings.Cut(mantissa, ".")
	exp := 0
	if expPart != "" {
		e, err := strconv.Atoi(expPart)
		if err != nil { // an exponent beyond int range: far too large or far too small
			return 0, wrong
		}
		exp = e
	}
	// value = digits × 10^exp, with digits stripped of leading and trailing zeros.
	digits := strings.TrimLeft(intPart+fracPart, "0")
	exp -= len(fracPart)
	trimmed := strings.TrimRight(digits, "0")
	exp += len(digits) - len(trimmed)
	digits = trimmed
	if digits == "" || exp < 0 || len(digits)+exp > len("9007199254740991") {
		return 0, wrong // zero, a fraction, or more digits than the maximum has
	}
	n, _ := strconv.ParseUint(digits+strings.Repeat("0", exp), 10, 64) // at most 16 digits: fits
	if n > MaxQuantity {
		return 0, wrong
	}
	return n, ""
}

// Fingerprint identifies what was ordered, independent of how the JSON was
// written: the same order gives the same fingerprint whatever its spacing,
// member order or number notation.
func (o Order) Fingerprint() string {
	canonical, _ := json.Marshal(o) // a struct of strings and a number: cannot fail
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:])
}
