package jsontext

import (
	"encoding/json"
	"testing"
)

// What AppendString writes is what encoding/json writes (escapeHTML) or what
// Marshal writes (not), and it declines whatever it would write otherwise.
func FuzzAppendStringAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range []string{"", "MSFT", `a"b\c`, "A&B<C>", "é", "tab\there", "\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, escapeHTML := range []bool{true, false} {
			got, ok := AppendString([]byte("x"), s, escapeHTML)
			if !ok {
				continue
			}
			want, err := json.Marshal(s)
			if !escapeHTML {
				want, err = Marshal(s)
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "x"+string(want) {
				t.Errorf("AppendString(%q, escapeHTML %v) = %s, want x%s", s, escapeHTML, got, want)
			}
		}
	})
}

// Marshal leaves "<", ">" and "&" as they are, as JSON.stringify does.
func TestMarshalLeavesHTMLCharacters(t *testing.T) {
	t.Parallel()
	b, err := Marshal(map[string]string{"symbol": "A&B<C>"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"symbol":"A&B<C>"}`; got != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
}

// Printable ASCII is written, escapes included; HTML characters only
// without escapeHTML; anything else is declined.
func TestAppendStringDeclines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s          string
		escapeHTML bool
		want       string
		ok         bool
	}{
		{`a"b\c`, true, `"a\"b\\c"`, true},
		{"A&B", false, `"A&B"`, true},
		{"A&B", true, "", false},
		{"é", false, "", false},
		{"line\n", false, "", false},
	}
	for _, tt := range tests {
		got, ok := AppendString(nil, tt.s, tt.escapeHTML)
		if ok != tt.ok || (ok && string(got) != tt.want) {
			t.Errorf("AppendString(%q, %v) = %s, %v; want %s, %v", tt.s, tt.escapeHTML, got, ok, tt.want, tt.ok)
		}
	}
}
