//go:build js && wasm && faults

package isolate

import (
	"fmt"
	"net/http"
	"strconv"
	"syscall/js"
)

// withFaults adds routes that make the runtime fail the ways a production one
// might, so that the end-to-end suite can check on workerd what the glue does
// about it. Only a build with -tags faults (the suite's own) has them.
func withFaults(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/__faults/panic": // outside the handler's own recover
			panic("injected panic")
		case "/__faults/crash": // an unrecovered panic ends the Go program
			go func() { panic("injected crash") }()
			await(sleep(50)) // this request stays in flight until the crash
		case "/__faults/hold": // stays in flight, on a timer of its own
			ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
			fmt.Fprintf(Console, `{"event":"hold_started","ms":%d}`, ms)
			await(sleep(ms))
			w.WriteHeader(http.StatusNoContent)
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// sleep is a promise of a JavaScript timer started in the caller's request.
func sleep(ms int) js.Value {
	var start js.Func
	start = js.FuncOf(func(_ js.Value, args []js.Value) any {
		start.Release()
		// Invoke, not Call: called on the global object (the glue's proxy of
		// it), setTimeout throws "Illegal invocation".
		return js.Global().Get("setTimeout").Invoke(args[0], ms)
	})
	return js.Global().Get("Promise").New(start)
}
