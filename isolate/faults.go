//go:build js && wasm && faults

package isolate

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"syscall/js"

	"github.com/orderintake/edge/queue"
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
		case "/__faults/enqueue": // sends the body to ORDER_QUEUE ?copies=N times
			q, err := OpenQueue("ORDER_QUEUE")
			copies, _ := strconv.Atoi(r.URL.Query().Get("copies"))
			body, _ := io.ReadAll(r.Body)
			for range copies {
				if err == nil {
					err = q.Send(r.Context(), body)
				}
			}
			if err != nil {
				panic(err)
			}
			w.WriteHeader(http.StatusNoContent)
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

// sleep is a promise of a timer started in the caller's event. It is
// workerd's scheduler.wait rather than a Promise whose executor is a Go
// function, so that making it does not call back into Go while Go waits on
// the call.
func sleep(ms int) js.Value {
	return js.Global().Get("scheduler").Call("wait", ms)
}

// crashMarker in a queued order's message (its Idempotency-Key starts with
// "crash-mid-batch") makes the batch holding it kill the runtime.
var crashMarker = []byte(`"key":"crash-mid-batch`)

// withQueueFaults kills the Go runtime in the middle of a batch that holds a
// message marked with crashMarker on its first delivery. The batch's
// messages are consumed one by one, concurrently; once all but one have been
// decided (placed, their outcomes stored but not acknowledged) while the
// last is still being placed (its claim held: a hanging gateway, say), or
// after 5 s, an unrecovered panic ends the program. The glue then retries
// the whole batch.
func withQueueFaults(consume QueueConsumer) QueueConsumer {
	if consume == nil {
		return nil
	}
	return func(ctx context.Context, name string, batch []queue.Message) []queue.Verdict {
		crash := false
		for _, m := range batch {
			crash = crash || (m.Attempts == 1 && bytes.Contains(m.Body, crashMarker))
		}
		if !crash || len(batch) < 2 {
			return consume(ctx, name, batch)
		}
		fmt.Fprintf(Console, `{"event":"crash_scheduled","messages":%d}`, len(batch))
		decided := make(chan struct{}, len(batch)+1)
		for _, m := range batch {
			go func() {
				consume(ctx, name, []queue.Message{m})
				decided <- struct{}{}
			}()
		}
		go func() { // the fallback, on a JavaScript timer of this event
			await(sleep(5000))
			for range batch {
				decided <- struct{}{}
			}
		}()
		for range len(batch) - 1 {
			<-decided
		}
		go func() { panic("injected crash in the middle of a queue batch") }()
		await(sleep(1000)) // the runtime is gone before this ends
		return nil
	}
}

// await blocks until promise settles, releasing both of its callbacks. Only
// the faults build waits on a promise through syscall/js; everything else
// goes through the bridge (bridge.go).
func await(promise js.Value) (js.Value, error) {
	type settled struct {
		value js.Value
		err   error
	}
	done := make(chan settled, 1)
	onValue := js.FuncOf(func(_ js.Value, args []js.Value) any {
		done <- settled{value: args[0]}
		return nil
	})
	defer onValue.Release()
	onError := js.FuncOf(func(_ js.Value, args []js.Value) any {
		done <- settled{err: fmt.Errorf("%s", js.Global().Call("String", args[0]).String())}
		return nil
	})
	defer onError.Release()
	promise.Call("then", onValue, onError)
	s := <-done
	return s.value, s.err
}
