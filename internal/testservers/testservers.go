// Package testservers gives tests real PostgreSQL and Redis servers: the
// ones DATABASE_URL and REDIS_URL name when they are set, otherwise servers
// it starts itself from the installed binaries (scripts/services/install.sh
// installs them, and `make test` runs it), each in a temporary directory on
// a free loopback port, without persistence unless a test asks for it, and
// stopped when the tests end.
//
// A test package that uses it runs its tests through Main:
//
//	func TestMain(m *testing.M) { testservers.Main(m) }
//
// Without the binaries a test fails, saying how to install them: these
// tests never skip.
package testservers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// startTimeout bounds a server's start: initdb and a first connection on a
// machine busy with other builds.
const startTimeout = 2 * time.Minute

// shared are the servers of the whole test binary, started on first use and
// stopped by Stop.
var shared struct {
	mu       sync.Mutex
	postgres *Server
	redis    *Server
	errs     map[string]error
	started  []*Server
	atStop   []func()
}

// Main runs the tests, then Stop, and exits.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop drops what PostgresUntilStop created and stops every server this
// package started: for a TestMain of its own, after m.Run.
func Stop() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	for _, f := range shared.atStop {
		f()
	}
	for _, s := range shared.started {
		s.Stop()
	}
	shared.atStop, shared.started = nil, nil
}

// Server is a server this package started.
type Server struct {
	// URL is how to reach it: postgres://… or redis://….
	URL  string
	Addr string

	kind  string
	dir   string
	start func() (*exec.Cmd, error)
	cmd   *exec.Cmd
	done  chan struct{} // closed when cmd has exited
	// quit ends the server at once, as a crash would; stop ends it cleanly.
	quit, stop syscall.Signal
}

// Postgres returns the URL of a database of the test's own: a schema created
// for it in the server of DATABASE_URL or in the one this package started,
// made the connection's search_path, and dropped when the test ends.
func Postgres(t testing.TB) string {
	t.Helper()
	return postgresSchema(t, t.Cleanup)
}

// PostgresUntilStop is Postgres for a server that outlives the test that
// starts it (the end-to-end suite's): its schema is dropped by Stop.
func PostgresUntilStop(t testing.TB) string {
	t.Helper()
	return postgresSchema(t, func(drop func()) {
		shared.mu.Lock()
		defer shared.mu.Unlock()
		shared.atStop = append(shared.atStop, drop)
	})
}

// postgresSchema creates a schema and has dropAt drop it.
func postgresSchema(t testing.TB, dropAt func(func())) string {
	t.Helper()
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		base = sharedServer(t, "postgres", &shared.postgres, NewPostgres).URL
	}
	schema := fmt.Sprintf("test_%d_%d", os.Getpid(), nextID())
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("PostgreSQL at %s: %v", redact(base), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("creating the test's schema: %v", err)
	}
	dropAt(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if conn, err := pgx.Connect(ctx, base); err == nil {
			conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			conn.Close(ctx)
		}
	})
	return withQuery(base, "search_path", schema)
}

// Redis returns the URL of the server of REDIS_URL, or of the one this
// package started, and a key prefix of the test's own: tests share the
// server, never a key.
func Redis(t testing.TB) (url, prefix string) {
	t.Helper()
	base := os.Getenv("REDIS_URL")
	if base == "" {
		base = sharedServer(t, "redis", &shared.redis, func() (*Server, error) { return NewRedis(false) }).URL
	}
	return base, fmt.Sprintf("test-%d-%d:", os.Getpid(), nextID())
}

// StartPostgres starts a PostgreSQL of the test's own, whatever
// DATABASE_URL says, for a test that restarts it; it is stopped when the
// test ends.
func StartPostgres(t testing.TB) *Server {
	t.Helper()
	return own(t, "postgres", NewPostgres)
}

// StartRedis starts a Redis (or Valkey) of the test's own, whatever
// REDIS_URL says, for a test that restarts it; it is stopped when the test
// ends. persistent makes it write every change to its append-only file
// before answering (appendfsync always), so that a restart keeps them.
func StartRedis(t testing.TB, persistent bool) *Server {
	t.Helper()
	return own(t, "redis", func() (*Server, error) { return NewRedis(persistent) })
}

func own(t testing.TB, kind string, start func() (*Server, error)) *Server {
	t.Helper()
	s, err := start()
	if err != nil {
		unavailable(t, kind, err)
	}
	t.Cleanup(s.Stop)
	return s
}

func sharedServer(t testing.TB, kind string, slot **Server, start func() (*Server, error)) *Server {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if *slot == nil && shared.errs[kind] == nil {
		s, err := start()
		if err != nil {
			if shared.errs == nil {
				shared.errs = map[string]error{}
			}
			shared.errs[kind] = err
		} else {
			*slot = s
			shared.started = append(shared.started, s)
		}
	}
	if *slot == nil {
		unavailable(t, kind, shared.errs[kind])
	}
	return *slot
}

// errNotInstalled marks a server whose binaries are missing.
var errNotInstalled = errors.New("not installed (scripts/services/install.sh installs it)")

// unavailable fails the test, in CI and out of it: a store test that
// skipped would test nothing. It says how to get the server.
func unavailable(t testing.TB, kind string, err error) {
	t.Helper()
	env := map[string]string{"postgres": "DATABASE_URL", "redis": "REDIS_URL"}[kind]
	t.Fatalf("%s: %v; or set %s", kind, err, env)
}

// Restart ends the server at once, as a crash or a power cut of the process
// would (SIGQUIT for PostgreSQL, SIGKILL for Redis), and starts it again on
// the same port with the same data.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.signal(s.quit)
	cmd, err := s.start()
	if err != nil {
		t.Fatalf("restarting %s: %v", s.kind, err)
	}
	s.cmd = cmd
}

// Stop ends the server cleanly and removes its directory.
func (s *Server) Stop() {
	s.signal(s.stop)
	os.RemoveAll(s.dir)
}

func (s *Server) signal(sig syscall.Signal) {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// NewPostgres starts a PostgreSQL, for a program that is not a test (a
// benchmark); the caller must Stop it.
func NewPostgres() (*Server, error) {
	bin, err := postgresBin()
	if err != nil {
		return nil, err
	}
	cred, err := postgresUser()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "testservers-postgres-")
	if err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync")
	initdb.SysProcAttr = procAttr(cred, 0)
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	s, port, err := newServer("postgres", dir, syscall.SIGQUIT, syscall.SIGINT)
	if err != nil {
		return nil, err
	}
	s.URL = "postgres://postgres@" + s.Addr + "/postgres?sslmode=disable"
	s.start = func() (*exec.Cmd, error) {
		// fsync off: a crash of the server process keeps what the kernel
		// holds, and a test never outlives the machine.
		cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-h", "127.0.0.1", "-p", strconv.Itoa(port),
			"-k", dir, "-c", "fsync=off", "-c", "max_connections=200")
		return s.run(cmd, cred, syscall.SIGQUIT, func(ctx context.Context) error {
			conn, err := pgx.Connect(ctx, s.URL)
			if err == nil {
				conn.Close(ctx)
			}
			return err
		})
	}
	if s.cmd, err = s.start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// NewRedis starts a Redis (or Valkey), persistent as StartRedis says, for a
// program that is not a test; the caller must Stop it.
func NewRedis(persistent bool) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if bin, err = exec.LookPath("valkey-server"); err != nil {
			return nil, fmt.Errorf("redis-server %w", errNotInstalled)
		}
	}
	dir, err := os.MkdirTemp("", "testservers-redis-")
	if err != nil {
		return nil, err
	}
	s, port, err := newServer("redis", dir, syscall.SIGKILL, syscall.SIGTERM)
	if err != nil {
		return nil, err
	}
	s.URL = "redis://" + s.Addr + "/0"
	args := []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir, "--save", "", "--daemonize", "no"}
	if persistent {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	s.start = func() (*exec.Cmd, error) {
		return s.run(exec.Command(bin, args...), nil, syscall.SIGKILL, func(ctx context.Context) error {
			c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
			defer c.Close()
			return c.Ping(ctx).Err()
		})
	}
	if s.cmd, err = s.start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// newServer is a server of kind in dir on a free loopback port, not yet
// started; on error dir is removed.
func newServer(kind, dir string, quit, stop syscall.Signal) (*Server, int, error) {
	port, err := FreePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, 0, err
	}
	return &Server{kind: kind, dir: dir, quit: quit, stop: stop, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}, port, nil
}

// run starts cmd, logging to the server's directory, and waits until ready
// says it answers.
func (s *Server) run(cmd *exec.Cmd, cred *syscall.Credential, deathSignal syscall.Signal, ready func(context.Context) error) (*exec.Cmd, error) {
	log, err := os.OpenFile(filepath.Join(s.dir, "log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = procAttr(cred, deathSignal)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s.done = make(chan struct{})
	go func(done chan struct{}) { cmd.Wait(); close(done) }(s.done)
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := ready(ctx)
		cancel()
		if err == nil {
			return cmd, nil
		}
		select {
		case <-s.done:
			logged, _ := os.ReadFile(filepath.Join(s.dir, "log"))
			return nil, fmt.Errorf("%s exited at start: %s", s.kind, tail(logged))
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-s.done
			return nil, fmt.Errorf("%s did not answer on %s within %v: %v", s.kind, s.Addr, startTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// postgresBin is the directory of initdb and postgres: on PATH, else
// Debian's newest /usr/lib/postgresql/<version>/bin.
func postgresBin() (string, error) {
	if initdb, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(initdb), nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		return "", fmt.Errorf("PostgreSQL's initdb %w", errNotInstalled)
	}
	slices.SortFunc(found, func(a, b string) int { return majorVersion(a) - majorVersion(b) })
	return filepath.Dir(found[len(found)-1]), nil
}

func majorVersion(initdb string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return n
}

// postgresUser is whom PostgreSQL runs as: initdb and postgres refuse root,
// so as root the postgres user Debian's package creates; nil otherwise.
func postgresUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and PostgreSQL refuses root: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var ids atomic.Int64

func nextID() int64 { return ids.Add(1) }

func withQuery(raw, name, value string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set(name, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// redact hides a password in a URL for a message.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "the URL"
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
