// Package order is the order domain of the order-intake worker, in pure Go:
// parsing and validating an order, its price, its canonical form and
// fingerprint, its order id, receipt and status, and the placers (minting a
// receipt, or an order gateway) with their refusals. It knows nothing of
// HTTP, idempotency records or the platform: the intake (package intake)
// serves it, and a client (package client) speaks it. It imports no other
// package of this module.
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
	"unicode/utf8"
)

// MaxQuantity is 2^53-1, the largest whole number a JavaScript client can
// read back from the receipt exactly.
const MaxQuantity = 1<<53 - 1

const maxSymbolChars = 32

// The values of Order.Type.
const (
	TypeMarket = "market" // the default
	TypeLimit  = "limit"
)

// The values of Order.TimeInForce.
const (
	TimeInForceDay = "day" // the default
	TimeInForceGTC = "gtc" // good till cancelled
	TimeInForceIOC = "ioc" // immediate or cancel
)

// Order is a validated order. ParseOrder fills every field it defaults (Type
// and TimeInForce); an Order built in Go may leave them empty, and every
// method reads an empty Type as TypeMarket and an empty TimeInForce as
// TimeInForceDay.
//
// Marshalled with encoding/json it is a valid request body for ParseOrder:
// the fields left empty are omitted, and the server applies their defaults.
type Order struct {
	Symbol   string `json:"symbol"`
	Side     string `json:"side"`
	Quantity uint64 `json:"quantity"`
	// Type is TypeMarket or TypeLimit.
	Type string `json:"type,omitempty"`
	// LimitPrice is the canonical decimal (see ParsePrice) of a limit
	// order, and "" for a market order.
	LimitPrice string `json:"limitPrice,omitempty"`
	// TimeInForce is TimeInForceDay, TimeInForceGTC or TimeInForceIOC.
	TimeInForce string `json:"timeInForce,omitempty"`
}

// WithDefaults returns o with its defaults filled in and its price in canonical
// form (when it is a valid price), as ParseOrder returns an order.
func (o Order) WithDefaults() Order {
	if o.Type == "" {
		o.Type = TypeMarket
	}
	if o.TimeInForce == "" {
		o.TimeInForce = TimeInForceDay
	}
	if canonical, problem := ParsePrice(o.LimitPrice); problem == "" {
		o.LimitPrice = canonical
	}
	return o
}

// MalformedJSONError is a body that is not a single JSON object.
type MalformedJSONError struct {
	Reason error
}

// Error says why the body is not a JSON object.
func (e *MalformedJSONError) Error() string { return "malformed JSON: " + e.Reason.Error() }

// InvalidOrderError lists every bad field of an otherwise well-formed body.
type InvalidOrderError struct {
	Fields map[string]string
}

// Error counts the bad fields; Fields names them.
func (e *InvalidOrderError) Error() string {
	return fmt.Sprintf("invalid order: %d bad field(s)", len(e.Fields))
}

// ParseOrder reads body as one JSON object and validates it as an order. The
// error is a *MalformedJSONError when body is not a single JSON object, and an
// *InvalidOrderError when some fields are wrong (all of them are listed).
func ParseOrder(body []byte) (Order, error) {
	if o, ok := parseOrderFast(body); ok {
		return o, nil
	}
	return parseOrder(body)
}

// parseOrder is ParseOrder's general path, for every body.
func parseOrder(body []byte) (Order, error) {
	fields, err := decodeObject(body)
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		return Order{}, &MalformedJSONError{Reason: errors.New("the body is empty")}
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return Order{}, &MalformedJSONError{Reason: errors.New("the JSON ends before the object does")}
	case err != nil:
		return Order{}, &MalformedJSONError{Reason: err}
	}
	o := Order{Type: TypeMarket, TimeInForce: TimeInForceDay}
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
		case "type":
			o.Type, problem = parseType(raw)
		case "limitPrice":
			o.LimitPrice, problem = parseLimitPrice(raw)
		case "timeInForce":
			o.TimeInForce, problem = parseTimeInForce(raw)
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
	// Whether limitPrice belongs depends on the type; when the type itself is
	// wrong, only the price's own problems are reported.
	_, sentPrice := fields["limitPrice"]
	if _, badType := bad["type"]; !badType {
		switch {
		case o.Type == TypeLimit && !sentPrice:
			bad["limitPrice"] = "required for limit orders"
		case o.Type == TypeMarket && sentPrice:
			bad["limitPrice"] = "only for limit orders" // whatever its value, null included
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

// parseSymbol accepts 1 to 32 characters, each visible ASCII (0x21-0x7E):
// a zero-width, full-width or other non-ASCII character would make a
// look-alike of a real symbol that a person reading a log cannot tell apart.
func parseSymbol(raw json.RawMessage) (string, string) {
	const wrong = "must be 1 to 32 visible ASCII characters (0x21-0x7E)"
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", "must be a string"
	}
	if len(s) < 1 || len(s) > maxSymbolChars {
		return "", wrong
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return "", wrong
		}
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

func parseType(raw json.RawMessage) (string, string) {
	var s string
	if json.Unmarshal(raw, &s) != nil || (s != TypeMarket && s != TypeLimit) {
		return "", `must be "market" or "limit"`
	}
	return s, ""
}

func parseTimeInForce(raw json.RawMessage) (string, string) {
	var s string
	if json.Unmarshal(raw, &s) != nil || (s != TimeInForceDay && s != TimeInForceGTC && s != TimeInForceIOC) {
		return "", `must be "day", "gtc" or "ioc"`
	}
	return s, ""
}

// parseLimitPrice accepts a JSON string holding a price (see ParsePrice) and
// returns the price's canonical form. A JSON number is refused: a client that
// sends one has most likely been through a binary float already.
func parseLimitPrice(raw json.RawMessage) (string, string) {
	const example = `must be a string such as "123.45"`
	if len(raw) > 0 && (raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9')) {
		return "", example + " (a JSON number cannot hold most prices exactly)"
	}
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil { // null would unmarshal as ""
		return "", example
	}
	return ParsePrice(s)
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
// member order, number notation, price notation ("123.450" is "123.45") or
// defaults written out ("type":"market" and "timeInForce":"day" are the same
// as their absence). It is the hex SHA-256 of the order's canonical form.
//
// The fingerprint is stable across versions, because the order id is derived
// from it and the records of earlier versions are found by it (docs/contract.md#the-idempotency-state-machine). The
// canonical form of the first version was
//
//	{"symbol":…,"side":…,"quantity":…}
//
// as encoding/json writes it (with its HTML escaping of <, > and &). Every
// later field extends it by one member, after the ones before it, and
// written only when its value differs from its default:
//
//	"type":"limit"         when not market (the default)
//	"limitPrice":"123.45"  when set: canonical, only on limit orders
//	"timeInForce":"gtc"    when not day (the default)
//
// So every order an earlier version could express keeps exactly the
// fingerprint that version gave it. The canonical form carries no version
// number: its version is which members it has, and the same order always has
// the same members. The rules that keep this true, for every
// field added from now on: append it at the end, write it only when it is
// not at its default, never change a default, never change how an existing
// field is written (a price is always its canonical decimal string), and
// never rename or drop one. The canonical form is its own struct,
// fingerprintV, so that Order's JSON tags (its wire form) can change without
// moving a fingerprint.
func (o Order) Fingerprint() string {
	sum := sha256.Sum256(o.canonical())
	return hex.EncodeToString(sum[:])
}

// fingerprintV is the canonical form's layout; see Fingerprint before
// changing anything here.
type fingerprintV struct {
	Symbol      string `json:"symbol"`                // version 1
	Side        string `json:"side"`                  // version 1
	Quantity    uint64 `json:"quantity"`              // version 1
	Type        string `json:"type,omitempty"`        // version 2 (limit orders)
	LimitPrice  string `json:"limitPrice,omitempty"`  // version 2
	TimeInForce string `json:"timeInForce,omitempty"` // version 2
}

// canonical is the JSON that Fingerprint hashes.
func (o Order) canonical() []byte {
	o = o.WithDefaults()
	if b, ok := appendCanonical(make([]byte, 0, 96), o); ok {
		return b
	}
	return canonicalJSON(o)
}

// canonicalJSON is canonical's general path, for an order with its defaults
// filled in.
func canonicalJSON(o Order) []byte {
	c := fingerprintV{Symbol: o.Symbol, Side: o.Side, Quantity: o.Quantity, LimitPrice: o.LimitPrice}
	if o.Type != TypeMarket {
		c.Type = o.Type
	}
	if o.TimeInForce != TimeInForceDay {
		c.TimeInForce = o.TimeInForce
	}
	b, _ := json.Marshal(c) // a struct of strings and a number: cannot fail
	return b
}
