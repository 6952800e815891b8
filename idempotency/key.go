package idempotency

import (
	"errors"
	"fmt"
	"strings"
)

const maxKeyChars = 255

// ErrKeyMissing is an absent or empty key; ParseKey's other errors are an
// invalid key and say which rule it breaks.
var ErrKeyMissing = errors.New("the idempotency key is missing")

// ParseKey returns the key carried by the values of the key header (named
// header, for the messages) of one request: 1 to 255 visible ASCII
// characters (0x21-0x7E) other than the comma, sent once.
//
// A comma counts as a second value: HTTP treats repeated header lines and a
// comma-separated list as the same thing, and the Workers runtime hands the
// worker "a, b" split at the commas, so refusing commas here is what keeps a
// native test and the deployed worker in agreement.
//
// A value sent as an RFC 8941 string ("abc-123", as the IETF draft writes it)
// is accepted; the quotes are not part of the key.
func ParseKey(header string, values []string) (string, error) {
	if len(values) == 0 || (len(values) == 1 && values[0] == "") {
		return "", ErrKeyMissing
	}
	if len(values) > 1 {
		return "", errors.New(header + " was sent more than once, or as a comma-separated list")
	}
	key := values[0]
	if strings.HasPrefix(key, `"`) {
		unquoted, ok := unquoteSFString(key)
		if !ok {
			return "", errors.New(header + " starts with a double quote but is not a valid RFC 8941 string")
		}
		if unquoted == "" {
			return "", ErrKeyMissing
		}
		key = unquoted
	}
	if len(key) > maxKeyChars {
		return "", fmt.Errorf("%s is longer than %d characters", header, maxKeyChars)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e || key[i] == ',' {
			return "", errors.New(header + " may contain only visible ASCII characters (0x21-0x7E) other than the comma")
		}
	}
	return key, nil
}

// unquoteSFString decodes an RFC 8941 sf-string: printable ASCII between
// double quotes, where only \" and \\ are escapes.
func unquoteSFString(s string) (string, bool) {
	if len(s) < 2 || s[len(s)-1] != '"' {
		return "", false
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		c := s[i]
		switch {
		case c == '\\':
			i++
			if i == len(s)-1 || (s[i] != '"' && s[i] != '\\') {
				return "", false
			}
			b.WriteByte(s[i])
		case c == '"' || c < 0x20 || c > 0x7e:
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}
