package isolate

import (
	"reflect"
	"testing"
)

func TestParseBatchHead(t *testing.T) {
	t.Parallel()
	queue, messages, err := parseBatchHead("order-intake-placements\nm1\n1\nm2\n4")
	want := []QueueMessage{{ID: "m1", Attempts: 1}, {ID: "m2", Attempts: 4}}
	if err != nil || queue != "order-intake-placements" || !reflect.DeepEqual(messages, want) {
		t.Errorf("got %q, %+v, %v; want the queue and %+v", queue, messages, err, want)
	}
	if queue, messages, err := parseBatchHead("q"); err != nil || queue != "q" || len(messages) != 0 {
		t.Errorf("an empty batch: %q, %+v, %v", queue, messages, err)
	}
	for _, bad := range []string{"", "q\nm1", "q\nm1\nx", "q\nm1\n0", "\nm1\n1"} {
		if _, _, err := parseBatchHead(bad); err == nil {
			t.Errorf("parseBatchHead(%q) accepted it", bad)
		}
	}
}

func TestVerdictHead(t *testing.T) {
	t.Parallel()
	got := verdictHead([]QueueVerdict{{}, {Retry: true}, {Retry: true, DelaySeconds: 900}})
	if want := "ack\nretry\nretry 900"; got != want {
		t.Errorf("verdictHead = %q, want %q", got, want)
	}
	if got := verdictHead(nil); got != "" {
		t.Errorf("no verdicts: %q", got)
	}
}
