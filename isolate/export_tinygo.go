//go:build tinygo

package isolate

// isolateDeliver is the export through which the glue hands an event over.
// TinyGo runs a //go:wasmexport function in a goroutine of its own, with a
// new stack of its own, which its heap kept: the heap grew by a stack with
// every event, and the glue retired the runtime every few hundred events
// (BENCHMARKS.md). TinyGo's //export runs it on the stack of whatever
// called the module, as the runtime's own exports resume and go_scheduler
// are run; deliver neither blocks nor allocates, so it needs no goroutine.
//
//export isolate_deliver
func isolateDeliver(kind, id, status, aLen, bLen int32, x float64) int32 {
	return deliver(kind, id, status, aLen, bLen, x)
}
