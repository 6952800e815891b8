//go:build e2e

package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orderintake/edge/scripts/internal/devserver"
)

// internal/devserver's own promises: no build per instance, nothing left
// running or on disk after Stop, and a readable error when wrangler fails.

func TestLauncherStartStop(t *testing.T) {
	t.Parallel()
	s, err := devserver.Start(devserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	// wrangler prefixes the output of the [build] command it runs with this.
	if strings.Contains(s.Log(), "[custom build]") {
		t.Errorf("wrangler ran the custom build:\n%s", s.LogTail(20))
	}
	pgid := s.PID()
	group := processGroup(t, pgid)
	if !slices.Contains(group, "workerd") {
		t.Errorf("workerd is not in wrangler's process group %d, so Stop would not reach it: %q", pgid, group)
	}

	dir := filepath.Dir(s.LogPath())
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if left := processGroup(t, pgid); len(left) > 0 {
		t.Errorf("left running after Stop: %q", left)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("instance directory %s is still there (%v)", dir, err)
	}
	if !strings.Contains(s.Log(), "Ready on "+s.URL) {
		t.Errorf("the log is gone after Stop:\n%s", s.LogTail(10))
	}
	if err := s.Stop(); err != nil {
		t.Errorf("a second Stop: %v", err)
	}
}

func TestLauncherStartFailure(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		opts devserver.Options
		want string // in the error
	}{
		// wrangler refuses a compatibility date it does not know, and exits.
		{"wrangler exits", devserver.Options{Args: []string{"--compatibility-date", "2999-01-01"}}, "exited"},
		{"timeout", devserver.Options{StartTimeout: time.Millisecond}, "did not answer 200 within"},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			s, err := devserver.Start(c.opts)
			if err == nil {
				s.Stop()
				t.Fatal("Start succeeded")
			}
			if took := time.Since(start); took > 30*time.Second {
				t.Errorf("Start took %v to fail", took)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "wrangler log") {
				t.Errorf("error does not say %q and show the log:\n%v", c.want, err)
			}
			port := regexp.MustCompile(`127\.0\.0\.1:(\d+)`).FindStringSubmatch(err.Error())
			if port == nil {
				t.Fatalf("no URL in the error: %v", err)
			}
			if left := processesMentioning(t, "127.0.0.1:"+port[1], "--port\x00"+port[1]+"\x00"); len(left) > 0 {
				t.Errorf("left running after a failed Start: %q", left)
			}
		})
	}
}

// A process that starts a worker and is then interrupted (Ctrl-C: the
// signal handler stops the worker) or killed outright (a `go test -timeout`
// panic: Pdeathsig makes wrangler shut down) leaves nothing behind.
func TestLauncherParentEnds(t *testing.T) {
	t.Parallel()
	root, err := devserver.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "race")
	build := exec.Command("go", "build", "-o", bin, "./scripts/race")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./scripts/race: %v\n%s", err, out)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin, "-n", "1", "-rounds", "1000000")
			cmd.Dir = root
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			// "race: started a worker at http://127.0.0.1:<port> (log: <dir>/wrangler.log)"
			started := regexp.MustCompile(`started a worker at http://127\.0\.0\.1:(\d+) \(log: (.*)\)`)
			var port, dir string
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				if m := started.FindStringSubmatch(sc.Text()); m != nil {
					port, dir = m[1], filepath.Dir(m[2])
					break
				}
			}
			if port == "" {
				t.Fatalf("the race script did not start a worker")
			}
			// Killed outright, the script cannot remove its instance directory.
			defer os.RemoveAll(dir)
			go func() { // keep the pipe drained until the script exits
				for sc.Scan() {
				}
			}()
			cmd.Process.Signal(sig)
			cmd.Wait()
			deadline := time.Now().Add(15 * time.Second)
			for {
				left := processesMentioning(t, "127.0.0.1:"+port, "--port\x00"+port+"\x00")
				if len(left) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("15 s after %v, still running: %q", sig, left)
				}
				time.Sleep(200 * time.Millisecond)
			}
			if _, err := os.Stat(dir); sig == syscall.SIGINT && !os.IsNotExist(err) {
				t.Errorf("after SIGINT the instance directory %s is still there (%v)", dir, err)
			}
		})
	}
}

// processGroup lists the command names of the live processes in group pgid.
func processGroup(t *testing.T, pgid int) []string {
	t.Helper()
	var names []string
	eachProcess(t, func(stat, _ string) {
		// pid (comm) state ppid pgrp …; comm may hold spaces, so split after ")".
		lp, rp := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
		fields := strings.Fields(stat[rp+1:])
		if len(fields) > 2 && fields[0] != "Z" && fields[2] == strconv.Itoa(pgid) {
			names = append(names, stat[lp+1:rp])
		}
	})
	return names
}

// processesMentioning lists the live processes whose command line contains
// any of needles (arguments are NUL-separated).
func processesMentioning(t *testing.T, needles ...string) []string {
	t.Helper()
	var found []string
	eachProcess(t, func(stat, cmdline string) {
		if fields := strings.Fields(stat[strings.LastIndexByte(stat, ')')+1:]); len(fields) > 0 && fields[0] == "Z" {
			return // a zombie runs nothing
		}
		for _, n := range needles {
			if strings.Contains(cmdline, n) {
				found = append(found, strings.ReplaceAll(cmdline, "\x00", " "))
				return
			}
		}
	})
	return found
}

func eachProcess(t *testing.T, fn func(stat, cmdline string)) {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc to inspect processes: %v", err)
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err1 := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		cmdline, err2 := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err1 == nil && err2 == nil && strings.LastIndexByte(string(stat), ')') > 0 {
			fn(string(stat), string(cmdline))
		}
	}
}
