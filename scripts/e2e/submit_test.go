//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/orderintake/edge/scripts/internal/devserver"
)

// The README's replay demo, run against the live worker: the first
// submission places the order, the second replays its receipt.
func TestSubmitOrderScript(t *testing.T) {
	t.Parallel()
	w := defaultWorker.get(t)
	root, err := devserver.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	key := newKey()
	cmd := exec.Command(filepath.Join(root, "submit-order.sh"), w.srv.URL)
	cmd.Env = append(os.Environ(), "KEY="+key)
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
	wantReceipt(t, reply{status: 201, body: []byte(first[4])}, key, msftOrder)
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
