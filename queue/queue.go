// Package queue is the seam between the worker and a message queue
// (Cloudflare Queues), as package kvstore is for Workers KV: the Sender that
// a producer binding satisfies, and the Message a consumer is handed with the
// Verdict it answers. The glue (package isolate) implements the platform's
// side; the order intake (package intake) uses them, and builds natively.
package queue

import "context"

// Sender sends one message to a queue. A nil error means the queue has it:
// a Workers Queue resolves send() once the message is written.
type Sender interface {
	Send(ctx context.Context, body []byte) error
}

// Message is one message of a batch as the queue delivered it.
type Message struct {
	ID       string // the queue's message id
	Body     []byte // a JSON body as its JSON text
	Attempts int    // 1 on the first delivery
}

// Verdict is what the queue is told about one message: acknowledged, or
// retried after DelaySeconds (0: the queue's default delay).
type Verdict struct {
	Retry        bool
	DelaySeconds int
}
