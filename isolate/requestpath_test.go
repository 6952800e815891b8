package isolate

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// timerFuncs are the calls that wait on a Go timer, by package. The Go
// runtime drives every timer of an isolate from one JavaScript timer, which
// belongs to whichever request started it; workerd cancels requests that wait
// on another request's I/O as hung (package doc, docs/runtime.md).
var timerFuncs = map[string][]string{
	"time":    {"Sleep", "After", "AfterFunc", "NewTimer", "NewTicker", "Tick"},
	"context": {"WithTimeout", "WithDeadline", "WithTimeoutCause", "WithDeadlineCause"},
}

// workerMains are the workers this repository builds.
var workerMains = []string{".", "./examples/webhook"}

// The rule for the request path, enforced: no code compiled into a worker
// (every package of this module the Wasm builds depend on, tests and tooling
// apart) calls a Go timer.
func TestNoGoTimersInWorkerCode(t *testing.T) {
	t.Parallel()
	files := workerFiles(t)
	if len(files) < 10 {
		t.Fatalf("found only %d files of worker code: the package list is wrong", len(files))
	}
	for _, file := range files {
		for _, call := range timerCalls(t, file) {
			t.Errorf("%s calls %s: a Go timer hangs requests under workerd; use a JavaScript timer or the platform's own deadline (docs/runtime.md)", call.pos, call.name)
		}
	}
}

// The check finds what it is for: a file that sleeps, under any import name.
func TestTimerCallsFindsTimers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := `package p

import (
	"context"
	clock "time"
)

func f(ctx context.Context) {
	clock.Sleep(clock.Second)
	context.WithTimeout(ctx, clock.Second)
	_ = clock.Now()
}
`
	file := filepath.Join(dir, "p.go")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range timerCalls(t, file) {
		names = append(names, c.name)
	}
	if got := strings.Join(names, ","); got != "time.Sleep,context.WithTimeout" {
		t.Errorf("found %q, want time.Sleep,context.WithTimeout", got)
	}
}

type timerCall struct {
	pos  token.Position
	name string
}

// timerCalls parses file and returns its calls of timerFuncs.
func timerCalls(t *testing.T, file string) []timerCall {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	imported := map[string]string{} // local name -> import path
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		name := path
		if imp.Name != nil {
			name = imp.Name.Name
		}
		imported[name] = path
	}
	var calls []timerCall
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		pkg, ok := sel.X.(*ast.Ident)
		if !ok {
			return true
		}
		path := imported[pkg.Name]
		for _, fn := range timerFuncs[path] {
			if sel.Sel.Name == fn {
				calls = append(calls, timerCall{fset.Position(sel.Pos()), path + "." + fn})
			}
		}
		return true
	})
	return calls
}

// workerFiles lists the Go files (tests apart) of this module's packages
// that the workers' Wasm builds compile.
func workerFiles(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-deps", "-f",
		`{{if and (not .Standard) .Module}}{{if .Module.Main}}{{range .GoFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{end}}{{end}}`}, workerMains...)...)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	return strings.Fields(string(out))
}
