// Package tinygo holds the tests of `make tinygo`'s installer scripts beside
// them; the scripts themselves are bash.
package tinygo

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// stubs are the commands packages.sh calls, each recording its argv (one line
// per call, words separated by spaces) in $STUB_LOG. dpkg-query reports as
// installed the "name version" pairs in $STUB_INSTALLED; id -u prints $STUB_UID.
var stubs = map[string]string{
	"dpkg-query": `pkg="${@: -1}"
echo "dpkg-query $*" >>"$STUB_LOG"
for have in $STUB_INSTALLED; do
	if [ "${have%%=*}" = "$pkg" ]; then printf 'install ok installed %s' "${have#*=}"; exit 0; fi
done
echo "dpkg-query: no packages found matching $pkg" >&2; exit 1`,
	"apt-get": `echo "apt-get $* DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >>"$STUB_LOG"`,
	"sudo":    `echo "sudo $1" >>"$STUB_LOG"; shift; exec "$@"`,
	"id":      `echo "$STUB_UID"`,
}

// runPackages runs packages.sh with the stubs first on PATH and returns the
// stubs' log, without the dpkg-query lines.
func runPackages(t *testing.T, uid string, installed []string, packages ...string) []string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range stubs {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/usr/bin/env bash\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	log := filepath.Join(dir, "log")
	cmd := exec.Command("bash", "packages.sh")
	cmd.Args = append(cmd.Args, packages...)
	cmd.Env = append(os.Environ(),
		"PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"STUB_LOG="+log, "STUB_UID="+uid, "STUB_INSTALLED="+strings.Join(installed, " "))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("packages.sh: %v\n%s", err, out)
	}
	raw, _ := os.ReadFile(log)
	var calls []string
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if line != "" && !strings.HasPrefix(line, "dpkg-query ") {
			calls = append(calls, line)
		}
	}
	return calls
}

func TestPackagesInstallsWhatIsMissing(t *testing.T) {
	t.Parallel()
	const install = "apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600"
	tests := []struct {
		name      string
		uid       string
		installed []string
		want      []string
	}{
		{"a new machine, as root: apt-get itself, lists updated first", "0", nil, []string{
			"apt-get update -q DEBIAN_FRONTEND=noninteractive",
			install + " clang-19=1:19.1.7 binaryen=108-1 DEBIAN_FRONTEND=noninteractive",
		}},
		{"a new machine, as a user: through sudo -E", "1000", nil, []string{
			"sudo -E", "apt-get update -q DEBIAN_FRONTEND=noninteractive",
			"sudo -E", install + " clang-19=1:19.1.7 binaryen=108-1 DEBIAN_FRONTEND=noninteractive",
		}},
		{"one package at another version: only that one", "0", []string{"clang-19=1:19.1.7", "binaryen=107-1"}, []string{
			"apt-get update -q DEBIAN_FRONTEND=noninteractive",
			install + " binaryen=108-1 DEBIAN_FRONTEND=noninteractive",
		}},
		{"everything installed: no apt at all", "1000", []string{"clang-19=1:19.1.7", "binaryen=108-1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runPackages(t, tt.uid, tt.installed, "clang-19=1:19.1.7", "binaryen=108-1")
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("commands run:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// A bare name (the test servers' packages, scripts/services/install.sh) is
// installed unless some version of it is.
func TestPackagesWithoutAVersionAcceptAnyInstalledOne(t *testing.T) {
	t.Parallel()
	const install = "apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600"
	tests := []struct {
		name      string
		installed []string
		want      []string
	}{
		{"neither installed", nil, []string{
			"apt-get update -q DEBIAN_FRONTEND=noninteractive",
			install + " postgresql redis-server DEBIAN_FRONTEND=noninteractive",
		}},
		{"one installed, at any version", []string{"postgresql=15+248"}, []string{
			"apt-get update -q DEBIAN_FRONTEND=noninteractive",
			install + " redis-server DEBIAN_FRONTEND=noninteractive",
		}},
		{"both installed", []string{"postgresql=15+248", "redis-server=5:7.0.15"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runPackages(t, "0", tt.installed, "postgresql", "redis-server")
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("commands run:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// install.sh hands its whole package list to packages.sh: the list the test
// above exercises is the one a new machine installs.
func TestInstallUsesPackagesScript(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("install.sh")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), `"$here/packages.sh" "${PACKAGES[@]}"`) || strings.Contains(string(src), "apt-get") {
		t.Error(`install.sh must install its apt packages only through "$here/packages.sh" "${PACKAGES[@]}"`)
	}
}
