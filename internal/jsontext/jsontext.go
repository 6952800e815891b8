// Package jsontext writes JSON text the way the worker's peers read it, with
// the standard library alone: the order domain and the idempotency engine
// share it, and it imports nothing of the module.
package jsontext

import (
	"bytes"
	"encoding/json"
)

// AppendString appends s as a JSON string, as encoding/json writes it
// (escapeHTML set) or as Marshal does (not set), when s is printable ASCII:
// '"' and '\' are escaped, and with escapeHTML '<', '>' and '&' make ok
// false, as does anything else outside printable ASCII; the caller then
// leaves s to encoding/json. It lets the request path's hand-written encoders
// skip encoding/json's reflection, which costs WebAssembly dearly
// (BENCHMARKS.md).
func AppendString(b []byte, s string, escapeHTML bool) ([]byte, bool) {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e || (escapeHTML && (c == '<' || c == '>' || c == '&')):
			return b, false
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"'), true
}

// Marshal writes v as JavaScript's JSON.stringify does: "<", ">" and "&"
// stay as they are instead of becoming \u003c escapes.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
