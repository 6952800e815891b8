//go:build js && wasm && !tinygo

package isolate

// isolateDeliver is the export through which the glue hands an event over.
//
//lint:ignore U1000 the glue calls it through go:wasmexport, which staticcheck does not count as a use
//go:wasmexport isolate_deliver
func isolateDeliver(kind, id, status, aLen, bLen int32, x float64) int32 {
	return deliver(kind, id, status, aLen, bLen, x)
}
