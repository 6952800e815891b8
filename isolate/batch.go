package isolate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/orderintake/edge/queue"
)

// QueueConsumer decides every message of one batch of the named queue and
// returns one verdict per message, in the batch's order. The glue acts on
// the verdicts (ack, retry) in the queue event's own handler.
type QueueConsumer func(ctx context.Context, name string, batch []queue.Message) []queue.Verdict

// A batch head is the queue's name, then three lines per message: its id,
// its attempts and its body's length in bytes; the bodies follow the head,
// one after another. Queue names and message ids hold no newline.
func parseBatchHead(head string, bodies []byte) (name string, messages []queue.Message, err error) {
	lines := strings.Split(head, "\n")
	if len(lines)%3 != 1 || lines[0] == "" {
		return "", nil, errors.New("a batch head is the queue's name and three lines per message")
	}
	for i := 1; i < len(lines); i += 3 {
		attempts, err := strconv.Atoi(lines[i+1])
		if err != nil || attempts < 1 {
			return "", nil, fmt.Errorf("message %s: attempts %q is not a count", lines[i], lines[i+1])
		}
		n, err := strconv.Atoi(lines[i+2])
		if err != nil || n < 0 || n > len(bodies) {
			return "", nil, fmt.Errorf("message %s: body length %q is not within the %d bytes left", lines[i], lines[i+2], len(bodies))
		}
		messages = append(messages, queue.Message{ID: lines[i], Body: bodies[:n:n], Attempts: attempts})
		bodies = bodies[n:]
	}
	if len(bodies) > 0 {
		return "", nil, fmt.Errorf("%d bytes of bodies are left over", len(bodies))
	}
	return lines[0], messages, nil
}

// verdictHead writes one line per verdict: "ack", "retry", or "retry <delay
// seconds>".
func verdictHead(verdicts []queue.Verdict) string {
	var b strings.Builder
	for i, v := range verdicts {
		if i > 0 {
			b.WriteByte('\n')
		}
		switch {
		case !v.Retry:
			b.WriteString("ack")
		case v.DelaySeconds > 0:
			b.WriteString("retry " + strconv.Itoa(v.DelaySeconds))
		default:
			b.WriteString("retry")
		}
	}
	return b.String()
}
