package rules

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every test that the Makefile's NATIVE_E2E runs against the native server
// exists in the end-to-end suite: go test -run matches a renamed or deleted
// test's old name silently, and that test would quietly stop running there.
func TestNativeE2EListNamesExistingTests(t *testing.T) {
	t.Parallel()
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	list := regexp.MustCompile(`(?m)^NATIVE_E2E := \^\(([^)]*)\)\$\$$`).FindSubmatch(makefile)
	if list == nil {
		t.Fatal("the Makefile has no NATIVE_E2E := ^(TestA|TestB|...)$$ line")
	}
	files, err := filepath.Glob("../e2e/*_test.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no end-to-end tests found (%v)", err)
	}
	defined := map[string]bool{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`(?m)^func (Test\w+)\(t \*testing\.T\)`).FindAllSubmatch(src, -1) {
			defined[string(m[1])] = true
		}
	}
	for _, name := range strings.Split(string(list[1]), "|") {
		if !defined[name] {
			t.Errorf("NATIVE_E2E names %s, which no file in scripts/e2e defines", name)
		}
	}
}
