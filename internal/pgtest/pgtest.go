// Package pgtest starts throwaway PostgreSQL servers for tests and
// benchmarks: initdb in a temporary directory, the server on a free
// loopback port, run as the postgres user when the caller is root (as on
// CI machines, where PostgreSQL refuses to run as root).
//
// Tests get a database of their own from one server per test binary:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//	func TestX(t *testing.T) { url := pgtest.Database(t) ... }
//
// With ECSD_TEST_POSTGRES set to a server's URL (a role that may create
// databases), that server is used instead. Without either, tests skip with
// the reason, except under CI=true, where a missing PostgreSQL fails them:
// CI must never skip the PostgreSQL suites silently.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options tune a server.
type Options struct {
	// NoFsync turns fsync off: faster, for tests that do not measure or
	// rely on PostgreSQL's own durability. Benchmarks leave it on.
	NoFsync bool
	// Settings are extra postgresql.conf lines ("name = value").
	Settings []string
}

// Server is one running PostgreSQL cluster.
type Server struct {
	Dir    string // data directory
	BinDir string
	Port   int
	runAs  *user.User // nil: the current user
	log    string
}

// stamp marks a data directory as a pgtest cluster and names the process
// that started it, so a later Start can stop servers whose test binary
// died without stopping them.
const stamp = "pgtest.owner"

// Start initialises a cluster in a new directory under dir ("" for the
// system temp dir) and starts it. As root, the postgres user must be able
// to reach dir (t.TempDir() is root-only).
func Start(ctx context.Context, dir string, o Options) (*Server, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	reapOrphans(dir, bin)
	s := &Server{BinDir: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pgtest: running as root needs a postgres user to run the server as: %w", err)
		}
		s.runAs = u
	}
	if s.Dir, err = os.MkdirTemp(dir, "ecsd-pgtest-"); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if err := s.chown(s.Dir); err != nil {
		return nil, err
	}
	data := filepath.Join(s.Dir, "data")
	if out, err := s.command(ctx, "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions").CombinedOutput(); err != nil {
		os.RemoveAll(s.Dir)
		return nil, fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	if s.Port, err = freePort(); err != nil {
		os.RemoveAll(s.Dir)
		return nil, err
	}
	conf := []string{
		"listen_addresses = '127.0.0.1'",
		"port = " + strconv.Itoa(s.Port),
		"unix_socket_directories = '" + s.Dir + "'",
		"max_connections = 200",
		"shared_buffers = 64MB",
	}
	if o.NoFsync {
		conf = append(conf, "fsync = off", "synchronous_commit = off", "full_page_writes = off")
	}
	conf = append(conf, o.Settings...)
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString("\n# pgtest\n" + strings.Join(conf, "\n") + "\n")
		err = errors.Join(err, f.Close())
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(s.Dir, stamp), []byte(strconv.Itoa(os.Getpid())), 0o644)
	}
	if err != nil {
		os.RemoveAll(s.Dir)
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s.log = filepath.Join(s.Dir, "server.log")
	if err := s.start(ctx); err != nil {
		os.RemoveAll(s.Dir)
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context) error {
	out, err := s.command(ctx, "pg_ctl", "-D", filepath.Join(s.Dir, "data"), "-l", s.log, "-w", "-t", "60", "start").CombinedOutput()
	if err != nil {
		tail, _ := os.ReadFile(s.log)
		return fmt.Errorf("pgtest: pg_ctl start: %w\n%s\n%s", err, out, tail)
	}
	return nil
}

// URL is a connection URL for database db as the superuser.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// Stop shuts the server down (fast mode: open sessions are ended).
func (s *Server) Stop() error {
	out, err := s.command(context.Background(), "pg_ctl", "-D", filepath.Join(s.Dir, "data"), "-m", "fast", "-w", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgtest: pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

// Restart starts a stopped or killed server again on the same port.
func (s *Server) Restart(ctx context.Context) error {
	// A killed postmaster leaves its pid file; pg_ctl start checks that
	// the pid is alive and starts anyway when it is not.
	return s.start(ctx)
}

// Kill sends SIGKILL to the postmaster, as a crash would: no shutdown
// checkpoint, sessions cut.
func (s *Server) Kill() error {
	pid, err := s.pid()
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("pgtest: kill %d: %w", pid, err)
	}
	// Backends notice the postmaster is gone and exit on their own; wait
	// for the port to be free so Restart can take it again.
	deadline := time.Now().Add(30 * time.Second)
	for syscall.Kill(pid, 0) == nil || portInUse(s.Port) {
		if time.Now().After(deadline) {
			return fmt.Errorf("pgtest: postmaster %d still holds port %d 30s after SIGKILL", pid, s.Port)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// Close stops the server and removes its directory.
func (s *Server) Close() error {
	err := s.Stop()
	if err != nil {
		if pid, perr := s.pid(); perr == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return errors.Join(err, os.RemoveAll(s.Dir))
}

// Log returns the server's log, for failure messages.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.log)
	return string(b)
}

func (s *Server) pid() (int, error) {
	b, err := os.ReadFile(filepath.Join(s.Dir, "data", "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("pgtest: server not running: %w", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(first))
}

// CreateDatabase creates database name (a fresh, empty one).
func (s *Server) CreateDatabase(ctx context.Context, name string) error {
	return createDatabase(ctx, s.URL("postgres"), name)
}

func createDatabase(ctx context.Context, admin, name string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if err != nil {
		return fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return nil
}

func dropDatabase(ctx context.Context, admin, name string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// command runs a PostgreSQL program, as the postgres user when root.
func (s *Server) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(s.BinDir, name), args...)
	cmd.Dir = s.Dir
	if s.runAs != nil {
		uid, _ := strconv.Atoi(s.runAs.Uid)
		gid, _ := strconv.Atoi(s.runAs.Gid)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		cmd.Env = append(os.Environ(), "HOME="+s.runAs.HomeDir, "USER=postgres", "LOGNAME=postgres")
	}
	return cmd
}

func (s *Server) chown(path string) error {
	if s.runAs == nil {
		return nil
	}
	uid, _ := strconv.Atoi(s.runAs.Uid)
	gid, _ := strconv.Atoi(s.runAs.Gid)
	if err := os.Chown(path, uid, gid); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	return nil
}

// BinDir finds PostgreSQL's server programs: the directory of initdb on
// PATH, else Debian's /usr/lib/postgresql/<newest>/bin.
func BinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err == nil {
			return dir, nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	best, bestVersion := "", -1
	for _, m := range matches {
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(m))))
		if err == nil && v > bestVersion {
			best, bestVersion = filepath.Dir(m), v
		}
	}
	if best == "" {
		return "", errors.New("pgtest: PostgreSQL's server programs (initdb, pg_ctl) are not installed (Debian: apt-get install -y postgresql)")
	}
	return best, nil
}

// reapOrphans stops servers earlier runs started and never stopped: their
// owning process is gone, so nothing else will.
func reapOrphans(dir, bin string) {
	if dir == "" {
		dir = os.TempDir()
	}
	stamps, _ := filepath.Glob(filepath.Join(dir, "ecsd-pgtest-*", stamp))
	for _, st := range stamps {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		owner, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || owner == os.Getpid() || syscall.Kill(owner, 0) == nil {
			continue
		}
		old := &Server{Dir: filepath.Dir(st), BinDir: bin}
		if os.Geteuid() == 0 {
			old.runAs, _ = user.Lookup("postgres")
		}
		if pid, err := old.pid(); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		_ = os.RemoveAll(old.Dir)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func portInUse(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 100*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// The test binary's shared server.
var (
	shared struct {
		once  sync.Once
		admin string // URL of a database to connect to for CREATE DATABASE
		srv   *Server
		err   error
	}
)

// Main runs a package's tests and then stops the server Database started,
// if any. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	CloseShared()
	os.Exit(code)
}

// CloseShared stops the server Database started, if any: for a TestMain
// that runs m itself (one that also starts other servers).
func CloseShared() {
	if shared.srv != nil {
		if err := shared.srv.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		shared.srv = nil
	}
}

// Available reports whether tests can have a PostgreSQL database, and if
// not, why.
func Available() (bool, string) {
	if os.Getenv("ECSD_TEST_POSTGRES") != "" {
		return true, ""
	}
	if _, err := BinDir(); err != nil {
		return false, err.Error()
	}
	return true, ""
}

// Database returns the URL of a new, empty database for this test, dropped
// when the test ends. The server starts on first use (see Main). Without
// PostgreSQL the test is skipped, or fails under CI=true.
func Database(t testing.TB) string {
	t.Helper()
	shared.once.Do(func() {
		if u := os.Getenv("ECSD_TEST_POSTGRES"); u != "" {
			shared.admin = u
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		// fsync off: tests check ecsd's semantics, not the disk's; the
		// benchmarks measure with it on.
		shared.srv, shared.err = Start(ctx, "", Options{NoFsync: true})
		if shared.err == nil {
			shared.admin = shared.srv.URL("postgres")
		}
	})
	if shared.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required in CI: %v", shared.err)
		}
		t.Skipf("skipping: no PostgreSQL: %v", shared.err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "ecsd_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	if err := createDatabase(ctx, shared.admin, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dropDatabase(context.Background(), shared.admin, name); err != nil {
			t.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	return withDatabase(shared.admin, name)
}

// withDatabase replaces the database of a postgres:// URL.
func withDatabase(u, db string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	p.Path = "/" + db
	return p.String()
}
