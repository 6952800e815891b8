//go:build unix

package devserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A WorkerDir instance gets that directory's files and its own config, with
// relative paths taken from WorkerDir, not from the repository.
func TestPrepareWorkerDir(t *testing.T) {
	workerDir, instance := t.TempDir(), t.TempDir()
	files := map[string]string{
		"wrangler.toml": "name = \"fixture\"\nmain = \"worker.mjs\"\n[build]\ncommand = \"make\"\n[[d1_databases]]\nmigrations_dir = \"migrations\"\n",
		"worker.mjs":    "export default {}\n",
		"helper.mjs":    "export const x = 1\n",
		".hidden":       "not copied",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(workerDir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := &Server{dir: instance, root: "/nonexistent-repo"}
	if err := s.prepare(productBuild, workerDir, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"worker.mjs", "helper.mjs"} {
		if got, err := os.ReadFile(filepath.Join(instance, name)); err != nil || string(got) != files[name] {
			t.Errorf("%s: %q, %v; want a copy", name, got, err)
		}
	}
	if _, err := os.Stat(filepath.Join(instance, ".hidden")); err == nil {
		t.Error("a hidden file was copied")
	}
	cfg, err := os.ReadFile(filepath.Join(instance, configName))
	if err != nil {
		t.Fatal(err)
	}
	wantMigrations := "migrations_dir = '" + filepath.Join(workerDir, "migrations") + "'"
	if !strings.Contains(string(cfg), wantMigrations) || strings.Contains(string(cfg), "[build]") {
		t.Errorf("instance config:\n%s\nwant %s and no [build]", cfg, wantMigrations)
	}
}
