//go:build js && wasm && !faults

package isolate

import "net/http"

func withFaults(h http.Handler) http.Handler { return h }

func withQueueFaults(consume QueueConsumer) QueueConsumer { return consume }
