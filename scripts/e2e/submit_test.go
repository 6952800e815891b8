//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/orderintake/edge/order"
	"github.com/orderintake/edge/scripts/internal/devserver"
)

// The README's replay demo, run against the live worker: the first
// submission places the order, the second replays its receipt; with
// LIMIT_PRICE and TIME_IN_FORCE, a limit order.
func TestSubmitOrderScript(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		env   []string
		order string
	}{
		{nil, msft},
		{[]string{"LIMIT_PRICE=123.450", "TIME_IN_FORCE=gtc"}, `{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"123.45","timeInForce":"gtc"}`},
	} {
		t.Run(strings.Join(c.env, " "), func(t *testing.T) { runSubmitOrder(t, c.env, mustOrder(t, c.order)) })
	}
}

func runSubmitOrder(t *testing.T, env []string, o order.Order) {
	w := defaultWorker.get(t)
	root, err := devserver.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	key := newKey()
	cmd := exec.Command(filepath.Join(root, "submit-order.sh"), w.srv.URL)
	cmd.Env = append(append(os.Environ(), "KEY="+key), env...)
	w.traffic.RLock()
	out, err := cmd.CombinedOutput()
	w.traffic.RUnlock()
	if err != nil {
		t.Fatalf("submit-order.sh: %v\n%s", err, out)
	}

	// curl -i prints each response as a status line, headers, a blank line
	// and the body.
	response := regexp.MustCompile(`(?s)(HTTP/1\.1 (\d{3})[^\n]*\r?\n(.*?)\r?\n\r?\n)(\{[^\n]*\})`)
	found := response.FindAllStringSubmatch(string(out), -1)
	if len(found) != 2 {
		t.Fatalf("want two HTTP responses in the output, found %d:\n%s", len(found), out)
	}
	first, second := found[0], found[1]
	if first[2] != "201" || second[2] != "200" {
		t.Errorf("statuses %s then %s, want 201 then 200:\n%s", first[2], second[2], out)
	}
	if first[4] != second[4] {
		t.Errorf("the replayed body differs:\n%s\n%s", first[4], second[4])
	}
	if !hasHeader(second[3], "Idempotent-Replay", "true") {
		t.Errorf("the second response lacks Idempotent-Replay: true:\n%s", second[1])
	}
	if hasHeader(first[3], "Idempotent-Replay", "true") {
		t.Errorf("the first response claims to be a replay:\n%s", first[1])
	}
	wantReceipt(t, reply{status: 201, body: []byte(first[4])}, key, o)
}

func hasHeader(block, name, value string) bool {
	for _, line := range strings.Split(block, "\n") {
		n, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && strings.EqualFold(n, name) && strings.TrimSpace(v) == value {
			return true
		}
	}
	return false
}
