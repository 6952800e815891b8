package idempotency

import (
	"errors"
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	t.Parallel()
	const invalid = "invalid"
	tests := []struct {
		name   string
		values []string
		want   string // the key, "" for missing, or invalid
	}{
		{"absent", nil, ""},
		{"empty", []string{""}, ""},
		{"empty quoted string", []string{`""`}, ""},
		{"plain", []string{"abc-123"}, "abc-123"},
		{"uuid", []string{"5f0c1c0e-6f1b-4b0e-9c52-2f6f3c1a7d10"}, "5f0c1c0e-6f1b-4b0e-9c52-2f6f3c1a7d10"},
		{"RFC 8941 string", []string{`"abc-123"`}, "abc-123"},
		{"RFC 8941 string with escapes", []string{`"a\"b\\c"`}, `a"b\c`},
		{"every visible ASCII but the comma", []string{"!~" + strings.Repeat("x", 253)}, "!~" + strings.Repeat("x", 253)},
		{"255 characters", []string{strings.Repeat("k", 255)}, strings.Repeat("k", 255)},
		{"256 characters", []string{strings.Repeat("k", 256)}, invalid},
		{"quoted, 256 characters inside", []string{`"` + strings.Repeat("k", 256) + `"`}, invalid},
		{"sent twice", []string{"a", "b"}, invalid},
		{"sent twice, equal", []string{"a", "a"}, invalid},
		{"a comma is a list", []string{"a,b"}, invalid},
		{"space", []string{"a b"}, invalid},
		{"tab", []string{"a\tb"}, invalid},
		{"non-ASCII", []string{"clé"}, invalid},
		{"DEL", []string{"a\x7f"}, invalid},
		{"unterminated quote", []string{`"abc`}, invalid},
		{"lone quote", []string{`"`}, invalid},
		{"quote inside the string", []string{`"a"b"`}, invalid},
		{"bad escape", []string{`"a\b"`}, invalid},
		{"space inside a quoted key", []string{`"a b"`}, invalid},
	}
	for _, tt := range tests {
		key, err := ParseKey("Idempotency-Key", tt.values)
		switch {
		case tt.want == "" && !errors.Is(err, ErrKeyMissing):
			t.Errorf("%s: got %q, %v; want missing", tt.name, key, err)
		case tt.want == invalid && (err == nil || errors.Is(err, ErrKeyMissing)):
			t.Errorf("%s: got %q, %v; want invalid", tt.name, key, err)
		case tt.want != "" && tt.want != invalid && (err != nil || key != tt.want):
			t.Errorf("%s: got %q, %v; want %q", tt.name, key, err, tt.want)
		}
	}
}

func FuzzParseKey(f *testing.F) {
	for _, seed := range []string{"abc", `"abc"`, `"a\"b"`, "a,b", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		key, err := ParseKey("Idempotency-Key", []string{value})
		if err != nil {
			return
		}
		if key == "" || len(key) > 255 || strings.ContainsAny(key, ", \t\n") {
			t.Fatalf("accepted key %q from %q", key, value)
		}
	})
}
