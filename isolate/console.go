//go:build js && wasm

package isolate

import "bytes"

// Console writes to console.log, which Workers Logs collects, one call per
// Write (a Write is one log line). Use it instead of os.Stdout: on js/wasm
// every write to os.Stdout goes through wasm_exec.js's file-system shim, an
// asynchronous call with a callback of its own, and it cost more CPU than
// the rest of a replay (BENCHMARKS.md).
var Console consoleWriter

type consoleWriter struct{}

func (consoleWriter) Write(line []byte) (int, error) {
	p, n := bytesPtr(bytes.TrimSuffix(line, []byte("\n")))
	consoleLog(p, n)
	return len(line), nil
}
