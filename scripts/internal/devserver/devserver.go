//go:build unix

// Package devserver runs the worker on the real Workers runtime, workerd, via
// the project's pinned `wrangler dev`, for the end-to-end suite, the race
// script and benchmarks. Each Server is one wrangler process group with its
// own ports, its own copy of the build and its own local KV state. With
// Options.Native it runs the native server (cmd/orders-server) instead, on
// the store it is given, so that the same checks run against both.
//
// Processes: Stop kills the whole process group. Start also installs a
// handler that stops every live Server on SIGINT, SIGTERM or SIGHUP and then
// re-raises the signal, and on Linux wrangler gets SIGTERM when this process
// dies (Pdeathsig), which covers a `go test -timeout` panic, where no
// cleanup runs; wrangler then stops workerd itself, and the instance's
// temporary directory stays until the next Start, in any process, sweeps it.
// Not covered: wrangler's children survive if wrangler itself is SIGKILLed
// from outside, since only Stop signals the whole group.
package devserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options configure one instance.
type Options struct {
	// Vars override the [vars] of wrangler.toml (wrangler dev --var NAME:VALUE).
	Vars map[string]string
	// Args are appended to the wrangler dev command line.
	Args []string
	// Setup are wrangler commands run, as Server.Wrangler runs them, before
	// wrangler dev starts; strict mode applies its D1 migrations this way:
	// {"d1", "migrations", "apply", "order-intake-idempotency", "--env", "strict"}.
	Setup [][]string
	// StartTimeout bounds the wait for GET /healthz to answer 200; 60 s when zero.
	StartTimeout time.Duration
	// HealthStatus, when not zero, is the status GET /healthz answers once
	// the worker runs, for a worker without that route (a benchmark's
	// baseline answers 405 to every GET).
	HealthStatus int
	// WorkerDir, when set, runs another worker instead of the project's
	// build, such as a benchmark fixture: a directory holding its own
	// wrangler.toml, whose main must be worker.mjs, and every file the worker
	// loads, side by side. Its files are copied as the build is, a relative
	// migrations_dir is taken relative to WorkerDir, and the project is not
	// built. The worker must answer GET /healthz with 200, or HealthStatus.
	WorkerDir string
	// StateDir, when set, is where the instance keeps its local storage (KV,
	// D1, Durable Objects) instead of a directory of its own, and Stop leaves
	// it: an instance started later on the same StateDir finds what this one
	// stored, as a restarted `wrangler dev --persist-to` does.
	StateDir string
	// Faults runs the build with the fault-injection routes of
	// isolate/faults.go (make build TAGS=faults, into build-faults/), which
	// make the Go runtime panic, crash or hold a request in flight.
	Faults bool
	// Native, when set, runs the native server (cmd/orders-server, built
	// into build-native-orders-server/) with this store URL instead of wrangler dev; Vars
	// are its environment, and Args, Setup and wrangler's own commands do
	// not apply.
	Native string
	// NativePkg, with Native, runs another main package that takes the
	// native server's flags (-addr, -store), such as a benchmark's floor.
	NativePkg string
}

// StrictMode returns opts for the worker in strict mode (wrangler.toml
// [env.strict], records in D1): the migrations are applied to the instance's
// own empty local database, then wrangler dev runs with --env strict.
func StrictMode(opts Options) Options {
	opts.Args = append([]string{"--env", "strict"}, opts.Args...)
	opts.Setup = append(opts.Setup, []string{"d1", "migrations", "apply", "order-intake-idempotency", "--env", "strict"})
	return opts
}

// DurableMode returns opts for strict mode on Durable Objects
// (wrangler.toml [env.durable]): wrangler dev creates the class's storage
// itself, from the migration in wrangler.toml.
func DurableMode(opts Options) Options {
	opts.Args = append([]string{"--env", "durable"}, opts.Args...)
	return opts
}

// QueueMode returns opts for the worker in queue mode (wrangler.toml
// [env.queue]): the intake queues each order on the instance's own local
// queue, which the same instance consumes, with its dead-letter queue.
func QueueMode(opts Options) Options {
	opts.Args = append([]string{"--env", "queue"}, opts.Args...)
	return opts
}

// StrictQueueMode returns opts for strict mode and queue mode together
// (wrangler.toml [env.strict-queue]): the D1 migrations are applied to the
// instance's own empty local database, then wrangler dev runs with --env
// strict-queue.
func StrictQueueMode(opts Options) Options {
	opts.Args = append([]string{"--env", "strict-queue"}, opts.Args...)
	opts.Setup = append(opts.Setup, []string{"d1", "migrations", "apply", "order-intake-idempotency", "--env", "strict-queue"})
	return opts
}

// DurableQueueMode returns opts for strict mode on Durable Objects and queue
// mode together (wrangler.toml [env.durable-queue]).
func DurableQueueMode(opts Options) Options {
	opts.Args = append([]string{"--env", "durable-queue"}, opts.Args...)
	return opts
}

// Server is one running `wrangler dev`.
type Server struct {
	// URL is the worker's base URL, http://127.0.0.1:<port>.
	URL string

	dir    string // config, build copy, state and logs; removed by Stop
	state  string // the local storage: in dir, or Options.StateDir
	root   string
	native bool // the native server, not wrangler dev
	cmd    *exec.Cmd
	exited chan struct{} // closed when wrangler has exited

	stopOnce sync.Once
	stopErr  error
	logMu    sync.Mutex
	finalLog *string // the log as it was when Stop removed dir
}

const (
	stopGrace  = 5 * time.Second
	dirPrefix  = "devserver-"
	ownerName  = "owner.pid"
	logName    = "wrangler.log"
	configName = "wrangler.toml"
	stateName  = "state"
)

// errPortTaken is a start that failed because another process bound one of
// the ports between freePorts and wrangler (seen with many instances
// starting at once).
var errPortTaken = errors.New("a port was taken before wrangler bound it")

// Start builds the worker (once per process), starts wrangler dev on free
// ports and waits until GET /healthz answers 200, trying other ports when
// the chosen ones were taken meanwhile. The caller must Stop the Server; on
// error nothing is left running.
func Start(opts Options) (*Server, error) {
	for attempt := 1; ; attempt++ {
		s, err := start(opts)
		if err == nil || attempt == 3 || !errors.Is(err, errPortTaken) {
			return s, err
		}
	}
}

func start(opts Options) (*Server, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	build := productBuild
	switch {
	case opts.Native != "" && (opts.Faults || opts.WorkerDir != ""):
		return nil, errors.New("devserver: a native server has no faults build and runs no other worker")
	case opts.Native != "":
		build = nativeBuild(opts.NativePkg)
	case opts.Faults:
		build = faultsBuild
	}
	if opts.WorkerDir == "" {
		if err := build.make(); err != nil {
			return nil, err
		}
	}
	sweepOnce.Do(sweepStale)
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, ownerName), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{dir: dir, root: root, exited: make(chan struct{}), native: opts.Native != "", state: opts.StateDir}
	if s.state == "" {
		s.state = s.path(stateName)
	}
	if s.native {
		err = withBuildLock(s.root, build.dir, syscall.LOCK_SH, s.copyFiles)
	} else {
		err = s.prepare(build, opts.WorkerDir, opts.Setup)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	ports, err := freePorts(2)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.URL = fmt.Sprintf("http://127.0.0.1:%d", ports[0])

	logFile, err := os.Create(s.path(logName))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logFile.Close() // the child holds its own copy
	if s.native {
		s.cmd = exec.Command(s.path(build.binary), "-addr", fmt.Sprintf("127.0.0.1:%d", ports[0]), "-store", opts.Native)
		s.cmd.Dir = s.dir
		s.cmd.Env = os.Environ()
		for _, name := range slices.Sorted(maps.Keys(opts.Vars)) {
			s.cmd.Env = append(s.cmd.Env, name+"="+opts.Vars[name])
		}
	} else {
		args := []string{"dev", "--config", s.path(configName),
			"--ip", "127.0.0.1", "--port", strconv.Itoa(ports[0]),
			// Two instances cannot share the default inspector port.
			"--inspector-port", strconv.Itoa(ports[1]),
			"--persist-to", s.state}
		for _, name := range slices.Sorted(maps.Keys(opts.Vars)) {
			args = append(args, "--var", name+":"+opts.Vars[name])
		}
		s.cmd = s.wranglerCmd(context.Background(), append(args, opts.Args...)...)
	}
	// A file rather than a pipe: Wait then returns when wrangler exits, not
	// when every grandchild holding the pipe has gone.
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.SysProcAttr = procAttr()

	watchSignals()
	liveMu.Lock() // held across Start so a signal cannot miss this process
	if err := s.cmd.Start(); err != nil {
		liveMu.Unlock()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting wrangler: %w", err)
	}
	live[s] = struct{}{}
	liveMu.Unlock()
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()

	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	health := opts.HealthStatus
	if health == 0 {
		health = http.StatusOK
	}
	if err := s.waitHealthy(timeout, health); err != nil {
		s.Stop()
		if strings.Contains(s.Log(), "Address already in use") {
			err = fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return nil, fmt.Errorf("%w\n--- last lines of the wrangler log ---\n%s", err, s.LogTail(40))
	}
	return s, nil
}

// prepare copies the build (or workerDir) into the instance directory, so a
// rebuild in the repository during a run neither changes nor reloads this
// worker, writes the instance's wrangler.toml next to it and runs the setup
// commands.
func (s *Server) prepare(build *build, workerDir string, setup [][]string) error {
	configRoot := s.root
	var err error
	if workerDir == "" {
		err = withBuildLock(s.root, build.dir, syscall.LOCK_SH, s.copyFiles)
	} else {
		configRoot, err = filepath.Abs(workerDir)
		if err == nil {
			err = s.copyFiles(configRoot)
		}
	}
	if err != nil {
		return err
	}
	toml, err := os.ReadFile(filepath.Join(configRoot, "wrangler.toml"))
	if err != nil {
		return err
	}
	cfg, err := devConfig(toml, configRoot)
	if err != nil {
		return err
	}
	if err := os.WriteFile(s.path(configName), cfg, 0o644); err != nil {
		return err
	}
	for _, args := range setup {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		_, err := s.Wrangler(ctx, args...)
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

// copyFiles copies the regular files of dir, but not hidden ones nor a
// wrangler.toml (prepare writes the instance's own), into the
// instance directory.
func (s *Server) copyFiles(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") && e.Name() != configName {
			if err := copyFile(filepath.Join(dir, e.Name()), s.path(e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Server) wranglerCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(s.root, "node_modules", ".bin", "wrangler"), args...)
	cmd.Dir = s.dir
	// Keep wrangler's debug logs and its registry of running dev sessions out
	// of ~/.config, where parallel instances of one worker name would meet,
	// and send no telemetry.
	cmd.Env = append(os.Environ(),
		"WRANGLER_LOG_PATH="+s.path("wrangler-logs"),
		"WRANGLER_REGISTRY_PATH="+s.path("registry"),
		"WRANGLER_SEND_METRICS=false")
	return cmd
}

func (s *Server) waitHealthy(timeout time.Duration, status int) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := client.Get(s.URL + "/healthz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == status {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("%s exited before %s/healthz answered %d (%v)", filepath.Base(s.cmd.Path), s.URL, status, s.cmd.ProcessState)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s/healthz did not answer %d within %v (last error: %v)", s.URL, status, timeout, err)
		}
	}
}

// Stop ends the whole process group (SIGTERM, then SIGKILL after a grace
// period), waits until no member is left and removes the instance directory.
// It is safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		pgid := s.PID()
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(stopGrace):
		}
		// Whatever is left, wrangler's workerd children included, dies now.
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.exited
		if !waitGroupGone(pgid, 5*time.Second) {
			s.stopErr = fmt.Errorf("process group %d still has members after SIGKILL", pgid)
		}
		s.logMu.Lock()
		final := s.readLog()
		s.finalLog = &final
		err := os.RemoveAll(s.dir)
		s.logMu.Unlock()
		if err != nil && s.stopErr == nil {
			s.stopErr = err
		}
		liveMu.Lock()
		delete(live, s)
		liveMu.Unlock()
	})
	return s.stopErr
}

func waitGroupGone(pgid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Log returns everything wrangler and the worker have printed so far,
// stdout and stderr interleaved; after Stop, the final log.
func (s *Server) Log() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	if s.finalLog != nil {
		return *s.finalLog
	}
	return s.readLog()
}

func (s *Server) readLog() string {
	b, _ := os.ReadFile(s.path(logName))
	return string(b)
}

// LogTail returns the last n lines of Log.
func (s *Server) LogTail(n int) string {
	lines := strings.Split(strings.TrimRight(s.Log(), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// PID is wrangler's process id, which is also the id of the process group
// that holds workerd and everything else wrangler started.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// StateDir is the instance's local storage (wrangler dev --persist-to).
func (s *Server) StateDir() string { return s.state }

// LogPath is the file wrangler writes to, until Stop removes it.
func (s *Server) LogPath() string { return s.path(logName) }

// Wrangler runs another wrangler command against this instance's config and
// local state and returns its standard output, for example
// Wrangler(ctx, "kv", "key", "get", "--binding", "ORDERS", key).
// The command must accept --local and --persist-to (the kv and d1 commands
// do). Local state is SQLite: a command that writes it while the worker
// serves requests can make the worker's own storage calls fail (SQLITE_BUSY),
// so keep such commands apart from traffic.
func (s *Server) Wrangler(ctx context.Context, args ...string) ([]byte, error) {
	if s.native {
		return nil, errors.New("devserver: the native server has no wrangler state (its store is Options.Native)")
	}
	args = append(args, "--config", s.path(configName), "--local", "--persist-to", s.state)
	cmd := s.wranglerCmd(ctx, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("wrangler %s: %w\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out, nil
}

func (s *Server) path(name string) string { return filepath.Join(s.dir, name) }

var (
	liveMu sync.Mutex
	live   = map[*Server]struct{}{}
	sigMu  sync.Once
)

// watchSignals stops every live Server when this process is told to end:
// wrangler runs in its own process group, so a Ctrl-C in the terminal does
// not reach it.
func watchSignals() {
	sigMu.Do(func() {
		sigs := []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}
		c := make(chan os.Signal, 1)
		signal.Notify(c, sigs...)
		go func() {
			sig := <-c
			liveMu.Lock()
			servers := slices.Collect(maps.Keys(live))
			liveMu.Unlock()
			for _, s := range servers {
				s.Stop()
			}
			signal.Reset(sigs...)
			syscall.Kill(os.Getpid(), sig.(syscall.Signal))
		}()
	})
}

var sweepOnce sync.Once

// sweepStale removes the instance directories of processes that died without
// Stop (a `go test -timeout` panic): Pdeathsig ends their wrangler, but
// nothing was left to remove the directory.
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerName))
		if err != nil {
			continue // not ours, or still being set up
		}
		pid, err := strconv.Atoi(string(b))
		if err == nil && pid != os.Getpid() && errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			os.RemoveAll(dir)
		}
	}
}

// build is one way of building the worker, into its own directory.
type build struct {
	dir  string // under the repository root
	tags string // Go build tags
	// pkg, for a native server, is its main package, built with go build
	// into dir/binary instead of make build.
	pkg, binary string
	once        sync.Once
	err         error
}

var (
	productBuild = &build{dir: buildDir("build")}
	faultsBuild  = &build{dir: buildDir("build-faults"), tags: "faults"}

	nativeMu     sync.Mutex
	nativeBuilds = map[string]*build{}
)

// nativeBuild is the build of the native main package pkg (""
// means ./cmd/orders-server), into a directory of its own,
// build-native-<name>.
func nativeBuild(pkg string) *build {
	if pkg == "" {
		pkg = "./cmd/orders-server"
	}
	nativeMu.Lock()
	defer nativeMu.Unlock()
	if b := nativeBuilds[pkg]; b != nil {
		return b
	}
	name := filepath.Base(pkg)
	b := &build{dir: "build-native-" + name, pkg: pkg, binary: name}
	nativeBuilds[pkg] = b
	return b
}

// buildDir gives a TinyGo build (TINYGO=1 in the environment, which `make
// build` reads) directories of its own, so that a TinyGo run and a standard
// one at the same time do not rebuild the build the other copies from.
func buildDir(dir string) string {
	if os.Getenv("TINYGO") == "1" {
		return dir + "-tinygo"
	}
	return dir
}

// make installs the pinned wrangler when node_modules is missing and runs
// `make build` into b.dir (for the native server, go build), once per
// process; Start calls it.
func (b *build) make() error {
	b.once.Do(func() {
		root, err := RepoRoot()
		if err != nil {
			b.err = err
			return
		}
		if b.pkg != "" {
			b.err = withBuildLock(root, b.dir, syscall.LOCK_EX, func(dir string) error {
				return run(root, "go", "build", "-o", filepath.Join(dir, b.binary), b.pkg)
			})
			return
		}
		if _, err := os.Stat(filepath.Join(root, "node_modules", ".bin", "wrangler")); err != nil {
			if b.err = run(root, "npm", "ci", "--no-audit", "--no-fund"); b.err != nil {
				return
			}
		}
		b.err = withBuildLock(root, b.dir, syscall.LOCK_EX, func(string) error {
			return run(root, "make", "build", "BUILD="+b.dir, "TAGS="+b.tags)
		})
	})
	return b.err
}

// BuildWorker builds the main package pkg (such as ./examples/webhook) with
// `make build` into dir, beside a copy of the wrangler.toml at toml, for
// Options.WorkerDir. TINYGO=1 in the environment makes it a TinyGo build.
func BuildWorker(dir, pkg, toml string, makeArgs ...string) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	return BuildWorkerFrom(root, dir, pkg, toml, makeArgs...)
}

// BuildWorkerFrom is BuildWorker from the source tree at root (another
// checkout of the repository, such as an earlier version's worktree), with
// that tree's own Makefile.
func BuildWorkerFrom(root, dir, pkg, toml string, makeArgs ...string) error {
	if err := run(root, "make", append([]string{"build", "BUILD=" + dir, "PKG=" + pkg}, makeArgs...)...); err != nil {
		return err
	}
	b, err := os.ReadFile(toml)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "wrangler.toml"), b, 0o644)
}

// withBuildLock runs fn holding a lock on the build directory, shared for
// reading it and exclusive for `make build`, so that no process using this
// package (the e2e suite, scripts/race) copies a half-written build of
// another. A `make build` run by hand does not take the lock.
func withBuildLock(root, buildDir string, how int, fn func(buildDir string) error) error {
	dir := filepath.Join(root, buildDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// The lock file lives outside build/: `make build` starts by deleting
	// build/, and a lock file deleted under its holder lets the next process
	// lock a new file and copy a half-written build.
	sum := sha256.Sum256([]byte(root))
	lockPath := filepath.Join(os.TempDir(), "devserver-"+buildDir+"-"+hex.EncodeToString(sum[:8])+".lock")
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close() // releases the lock
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		return err
	}
	return fn(dir)
}

func run(dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// freePorts returns n distinct ports that were free a moment ago. Another
// process may take one before wrangler binds it; Start then fails and says so.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close() // held until all are picked, so they differ
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// copyFile copies a file, an executable one (the native server) as such.
func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	info, err := os.Stat(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644|info.Mode().Perm()&0o111)
}
