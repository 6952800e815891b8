package rules

import (
	"os/exec"
	"strings"
	"testing"
)

// deps lists the packages pkg depends on, itself included, in the build of
// this machine (go list -deps).
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// The rooms of docs/adr/0009-one-room-per-concern.md: the order domain
// depends on nothing else of the module but the leaf that writes JSON text,
// and knows no HTTP; the client depends on the domain alone; the intake,
// which a native server reuses, depends on nothing of the platform's glue.
func TestLayers(t *testing.T) {
	t.Parallel()
	const module = "github.com/orderintake/edge/"
	for _, tt := range []struct {
		pkg       string
		forbidden func(dep string) bool
		why       string
	}{
		{"../../order", func(dep string) bool {
			return strings.HasPrefix(dep, module) && dep != module+"order" && dep != module+"internal/jsontext" || dep == "net/http"
		}, "the order domain imports no other package of the module but internal/jsontext, nor net/http"},
		{"../../client", func(dep string) bool {
			return strings.HasPrefix(dep, module) && dep != module+"order" && dep != module+"internal/jsontext" && dep != module+"client"
		}, "the client depends on the order domain alone"},
		{"../../internal/jsontext", func(dep string) bool {
			return strings.HasPrefix(dep, module) && dep != module+"internal/jsontext"
		}, "the JSON text leaf imports nothing of the module"},
		{"../../intake", func(dep string) bool {
			return dep == module+"isolate" || strings.HasPrefix(dep, "github.com/syumai/")
		}, "the intake builds natively, without the glue"},
	} {
		for _, dep := range deps(t, tt.pkg) {
			if tt.forbidden(dep) {
				t.Errorf("%s depends on %s: %s", strings.TrimPrefix(tt.pkg, "../../"), dep, tt.why)
			}
		}
	}
}
