package devserver

import (
	"os"
	"strings"
	"testing"
)

func TestDevConfig(t *testing.T) {
	in := `name = "w"
main = "build/worker.mjs"
compatibility_date = "2026-04-20"

[build]
command = "make build"
watch_dir = "src"

[build.upload]
format = "modules"

[[kv_namespaces]]
binding = "ORDERS"
id = "0"

[vars]
main = "a var named main stays"

[[env.strict.d1_databases]]
binding = "DB"
migrations_dir = "migrations"
`
	want := `name = "w"
main = "worker.mjs"
compatibility_date = "2026-04-20"

[[kv_namespaces]]
binding = "ORDERS"
id = "0"

[vars]
main = "a var named main stays"

[[env.strict.d1_databases]]
binding = "DB"
migrations_dir = '/repo/migrations'
`
	got, err := devConfig([]byte(in), "/repo")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("devConfig:\n%s\nwant:\n%s", got, want)
	}
	if _, err := devConfig([]byte("name = \"w\"\n[vars]\nmain = \"x\"\n"), "/repo"); err == nil {
		t.Error("devConfig accepted a config without a top-level main")
	}
}

// The project's own wrangler.toml must keep working with devConfig.
func TestDevConfigOfProject(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	toml, err := os.ReadFile(root + "/wrangler.toml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := devConfig(toml, root)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(got)) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[build") || isKey(line, "command") || strings.HasPrefix(line, "main") && line != `main = "worker.mjs"` {
			t.Errorf("generated config still has %q:\n%s", line, got)
		}
	}
	for _, kept := range []string{`main = "worker.mjs"`, "[[kv_namespaces]]", `binding = "ORDERS"`, "[vars]"} {
		if !strings.Contains(string(got), kept) {
			t.Errorf("generated config lacks %q:\n%s", kept, got)
		}
	}
}
