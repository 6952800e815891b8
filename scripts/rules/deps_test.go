package rules

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The native stores' drivers (pgx, go-redis) and their test servers stay
// out of the Wasm builds: the worker and the example worker.
func TestTheWasmBuildsLeaveTheNativeStoresOut(t *testing.T) {
	t.Parallel()
	for _, pkg := range []string{".", "./examples/webhook"} {
		cmd := exec.Command("go", "list", "-deps", pkg)
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, native := range []string{"github.com/jackc/pgx", "github.com/redis/go-redis", "/idempotency/postgres", "/idempotency/redis", "/idempotency/storeurl", "/internal/testservers"} {
				if strings.Contains(dep, native) {
					t.Errorf("the Wasm build of %s depends on %s", pkg, dep)
				}
			}
		}
	}
}
