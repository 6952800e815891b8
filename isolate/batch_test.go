package isolate

import (
	"reflect"
	"testing"

	"github.com/orderintake/edge/queue"
)

func TestParseBatchHead(t *testing.T) {
	t.Parallel()
	name, messages, err := parseBatchHead("order-intake-placements\nm1\n1\n2\nm2\n4\n3", []byte("{}\"x\""))
	want := []queue.Message{{ID: "m1", Body: []byte("{}"), Attempts: 1}, {ID: "m2", Body: []byte(`"x"`), Attempts: 4}}
	if err != nil || name != "order-intake-placements" || !reflect.DeepEqual(messages, want) {
		t.Errorf("got %q, %+v, %v; want the queue and %+v", name, messages, err, want)
	}
	if name, messages, err := parseBatchHead("q", nil); err != nil || name != "q" || len(messages) != 0 {
		t.Errorf("an empty batch: %q, %+v, %v", name, messages, err)
	}
	if _, messages, err := parseBatchHead("q\nm1\n1\n0", nil); err != nil || len(messages) != 1 || len(messages[0].Body) != 0 {
		t.Errorf("an empty body: %+v, %v", messages, err)
	}
	for _, bad := range []struct{ head, bodies string }{
		{"", ""}, {"q\nm1", ""}, {"q\nm1\n1", ""}, {"q\nm1\nx\n0", ""}, {"q\nm1\n0\n0", ""}, {"\nm1\n1\n0", ""},
		{"q\nm1\n1\n3", "ab"}, {"q\nm1\n1\n-1", "ab"}, {"q\nm1\n1\n1", "ab"},
	} {
		if _, _, err := parseBatchHead(bad.head, []byte(bad.bodies)); err == nil {
			t.Errorf("parseBatchHead(%q, %q) accepted it", bad.head, bad.bodies)
		}
	}
}

func TestVerdictHead(t *testing.T) {
	t.Parallel()
	got := verdictHead([]queue.Verdict{{}, {Retry: true}, {Retry: true, DelaySeconds: 900}})
	if want := "ack\nretry\nretry 900"; got != want {
		t.Errorf("verdictHead = %q, want %q", got, want)
	}
	if got := verdictHead(nil); got != "" {
		t.Errorf("no verdicts: %q", got)
	}
}
