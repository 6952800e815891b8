package devserver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// devConfig turns the project's wrangler.toml into the config of one dev
// instance whose worker is a copy of the build lying next to the config:
// main becomes "worker.mjs" (wrangler resolves paths against the config
// file's directory), and the [build] table goes, because wrangler runs its
// command, `make build`, on every start and again whenever the watched ./src
// changes. migrations_dir is made absolute under root, so D1 migrations are
// still found. Everything else (compatibility date, bindings, vars,
// environments) is kept as written; another relative path would need the
// same care.
func devConfig(toml []byte, root string) ([]byte, error) {
	var out bytes.Buffer
	inBuild, topLevel, sawMain := false, true, false
	sc := bufio.NewScanner(bytes.NewReader(toml))
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "[") {
			topLevel = false
			header := strings.Trim(trimmed, "[] \t")
			inBuild = header == "build" || strings.HasPrefix(header, "build.")
		}
		if inBuild {
			continue
		}
		switch {
		case topLevel && isKey(trimmed, "main"):
			line, sawMain = `main = "worker.mjs"`, true
		case isKey(trimmed, "migrations_dir"):
			dir, err := tomlString(trimmed)
			if err != nil {
				return nil, err
			}
			if !filepath.IsAbs(dir) {
				dir = filepath.Join(root, dir)
			}
			if strings.ContainsAny(dir, "'\n") {
				return nil, fmt.Errorf("cannot write the path %q as a TOML literal string", dir)
			}
			line = "migrations_dir = '" + dir + "'"
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !sawMain {
		return nil, errors.New("wrangler.toml has no top-level main")
	}
	return out.Bytes(), nil
}

// tomlString is the value of a `key = "value"` line holding a plain string.
func tomlString(line string) (string, error) {
	_, value, _ := strings.Cut(line, "=")
	value = strings.TrimSpace(value)
	if len(value) < 2 || (value[0] != '"' && value[0] != '\'') || value[len(value)-1] != value[0] || strings.Contains(value, "\\") {
		return "", fmt.Errorf("cannot read %q as a plain TOML string", line)
	}
	return value[1 : len(value)-1], nil
}

// isKey reports whether a TOML line assigns the bare key name.
func isKey(line, name string) bool {
	rest, ok := strings.CutPrefix(line, name)
	return ok && strings.HasPrefix(strings.TrimLeft(rest, " \t"), "=")
}
