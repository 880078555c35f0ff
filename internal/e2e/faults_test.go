//go:build linux

package e2e

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd/ecsd/internal/server"
	"github.com/ecsd/ecsd/internal/store/sqlitestore"
)

// mountTmpfs mounts a tmpfs of size at dir (options such as "ro" added),
// or skips the test where mounting is not permitted (not root, or no
// CAP_SYS_ADMIN in a container).
func mountTmpfs(t *testing.T, dir, size string, opts ...string) {
	t.Helper()
	o := strings.Join(append([]string{"size=" + size}, opts...), ",")
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, o); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v): needs root or CAP_SYS_ADMIN", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
}

// startErr starts a server on dir and returns the start-up error.
func startErr(t *testing.T, dir string) error {
	t.Helper()
	srv, err := server.Start(t.Context(), server.Config{Listen: "127.0.0.1:0", DataDir: dir, AccountID: defaultAccount, Region: defaultRegion})
	if err == nil {
		_ = srv.Shutdown(context.Background())
		return errors.New("started")
	}
	return err
}

// TestDataDirNotWritable: a data directory ecsd cannot write is refused at
// start-up with an error that names it, before anything listens.
func TestDataDirNotWritable(t *testing.T) {
	t.Parallel()
	t.Run("read-only filesystem", func(t *testing.T) {
		dir := t.TempDir()
		if os.Geteuid() == 0 {
			mountTmpfs(t, dir, "1m", "ro")
		} else if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		err := startErr(t, dir)
		if !strings.Contains(err.Error(), "the data directory "+dir+" is not writable") {
			t.Fatalf("start-up error = %v, want it to say %s is not writable", err, dir)
		}
	})
	t.Run("existing state, filesystem remounted read-only", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("remounting needs root")
		}
		dir := t.TempDir()
		mountTmpfs(t, dir, "4m")
		e := startServer(t, withDataDir(dir))
		register(t, e.defaultClient(), "ro")
		e.stop(t)
		if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT|syscall.MS_RDONLY, "size=4m"); err != nil {
			t.Fatal(err)
		}
		err := startErr(t, dir)
		if !strings.Contains(err.Error(), "the data directory "+dir+" is not writable") {
			t.Fatalf("start-up error = %v, want it to say %s is not writable", err, dir)
		}
	})
	t.Run("a file, not a directory", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "data")
		if err := os.WriteFile(file, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		err := startErr(t, file)
		if !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), "not a directory") {
			t.Fatalf("start-up error = %v, want it to name %s and say it is not a directory", err, file)
		}
	})
}

// TestDataDirInUse: a second ecsd on the same data directory would run a
// second scheduler over the same services; it is refused at start-up.
func TestDataDirInUse(t *testing.T) {
	t.Parallel()
	first := startServer(t)
	err := startErr(t, first.cfg.DataDir)
	want := fmt.Sprintf("the data directory %s is in use by another ecsd process (pid %d)", first.cfg.DataDir, os.Getpid())
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("second start-up error = %v, want %q", err, want)
	}
	// The first one is unaffected, and once it stops the directory is free.
	register(t, first.defaultClient(), "inuse")
	first.stop(t)
	second := startServer(t, withDataDir(first.cfg.DataDir))
	mustDescribe(t, second.defaultClient(), "inuse:1")
}

// TestHelperLockDB is not a test: it is the "other process" of
// TestDatabaseLockedByAnotherProcess. It takes SQLite's write lock on the
// database named by ECSD_LOCK_DB, says "locked", and holds the lock until
// its stdin closes.
func TestHelperLockDB(t *testing.T) {
	path := os.Getenv("ECSD_LOCK_DB")
	if path == "" {
		t.Skip("helper process only")
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if _, err := conn.ExecContext(context.Background(), "COMMIT"); err != nil {
		t.Fatal(err)
	}
}

// lockDB runs TestHelperLockDB on dir's database and returns once it holds
// the lock; release ends it.
func lockDB(t *testing.T, dir string) (release func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperLockDB$")
	cmd.Env = append(os.Environ(), "ECSD_LOCK_DB="+filepath.Join(dir, sqlitestore.FileName))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		_ = cmd.Process.Kill()
		t.Fatalf("lock helper said %q, %v", line, err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			stdin.Close()
			_, _ = io.Copy(io.Discard, stdout)
			if err := cmd.Wait(); err != nil {
				t.Errorf("lock helper: %v", err)
			}
		})
	}
	t.Cleanup(release)
	return release
}

// TestDatabaseLockedByAnotherProcess: while another process holds SQLite's
// write lock, writes answer ServerException (a 500, AWS-shaped) once the
// busy timeout or the request timeout passes, reads and /health carry on,
// nothing half-written remains, and writes succeed again when the lock is
// released. At start-up the lock is a clear error.
func TestDatabaseLockedByAnotherProcess(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("skipping in -short mode: it waits out SQLite's 5s busy timeout twice")
	}
	e := startServer(t, func(c *server.Config) { c.Limits.RequestTimeout = time.Second })
	c := e.defaultClient()
	register(t, c, "locked")
	release := lockDB(t, e.cfg.DataDir)

	// The first write reaches the writer, which waits in BEGIN for the
	// busy timeout; the second waits in the queue behind it and gives up
	// at the request timeout.
	type answer struct {
		status int
		body   string
		took   time.Duration
	}
	send := func() answer {
		start := time.Now()
		resp, b := e.post(t, "RegisterTaskDefinition", `{"family":"locked","containerDefinitions":[{"name":"app","image":"busybox","memory":128}]}`)
		return answer{resp.StatusCode, string(b), time.Since(start)}
	}
	first := make(chan answer, 1)
	go func() { first <- send() }()
	// Let the first reach the writer (it takes a queued write at once; a
	// second early enough would share its batch and wait the busy timeout
	// too). TestTimeout in awsjson covers the deadline without timing.
	time.Sleep(time.Second)
	second := send()
	if second.status != http.StatusInternalServerError || !strings.Contains(second.body, `"__type":"ServerException"`) {
		t.Errorf("queued write while locked: %d %s, want 500 ServerException", second.status, second.body)
	}
	if second.took > 3500*time.Millisecond {
		t.Errorf("queued write answered after %s; the request timeout is 1s", second.took)
	}
	// Reads do not need the write lock (WAL).
	mustDescribe(t, c, "locked:1")
	if resp, _ := do(t, mustRequest(t, http.MethodGet, e.URL()+"/health")); resp.StatusCode != http.StatusOK {
		t.Errorf("/health while locked: %d", resp.StatusCode)
	}
	a := <-first
	if a.status != http.StatusInternalServerError || !strings.Contains(a.body, `"__type":"ServerException"`) {
		t.Errorf("write while locked: %d %s, want 500 ServerException", a.status, a.body)
	}

	release()
	td := register(t, c, "locked")
	if td.Revision != 2 {
		t.Errorf("first registration after the lock was released got revision %d, want 2: the failed ones must leave nothing", td.Revision)
	}

	// At start-up.
	e.stop(t)
	release = lockDB(t, e.cfg.DataDir)
	err := startErr(t, e.cfg.DataDir)
	want := filepath.Join(e.cfg.DataDir, sqlitestore.FileName) + " is locked by another process"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("start-up while locked: %v, want %q", err, want)
	}
	release()
	again := startServer(t, withDataDir(e.cfg.DataDir))
	mustDescribe(t, again.defaultClient(), "locked:2")
}

// mustDescribe fails the test unless td is describable.
func mustDescribe(t *testing.T, c *ecs.Client, td string) types.TaskDefinition {
	t.Helper()
	out, err := describe(t.Context(), c, td)
	if err != nil {
		t.Fatalf("DescribeTaskDefinition %s: %v", td, err)
	}
	return *out.TaskDefinition
}

// TestDiskFull fills a small tmpfs under a running ecsd: writes answer
// ServerException (500) and leave nothing behind, reads and /health carry
// on, writes succeed again once space is freed, revision numbers stay
// gapless, and the database is intact after a restart.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mountTmpfs(t, dir, "2m")
	e := startServer(t, withDataDir(dir))
	c := e.defaultClient()
	big := strings.Repeat("x", 8<<10)
	reg := func() (int, string) {
		resp, b := e.post(t, "RegisterTaskDefinition",
			`{"family":"full","containerDefinitions":[{"name":"app","image":"busybox","memory":128,"environment":[{"name":"PAD","value":"`+big+`"}]}]}`)
		return resp.StatusCode, string(b)
	}
	// Leave about 300 KiB free.
	filler := filepath.Join(dir, "filler")
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * st.Bsize
	if err := os.WriteFile(filler, make([]byte, max(free-300<<10, 0)), 0o644); err != nil {
		t.Fatal(err)
	}
	acked := 0
	for {
		status, body := reg()
		if status == http.StatusOK {
			acked++
			if acked > 200 {
				t.Fatal("200 registrations of 8 KiB fitted in a 2 MiB filesystem")
			}
			continue
		}
		if status != http.StatusInternalServerError || body != `{"__type":"ServerException","message":"Server exception."}` {
			t.Fatalf("write on a full disk: %d %s, want 500 ServerException", status, body)
		}
		break
	}
	if acked == 0 {
		t.Fatal("no registration fitted before the disk was full")
	}
	for range 3 { // still full: still refused, and still AWS-shaped
		if status, body := reg(); status != http.StatusInternalServerError {
			t.Fatalf("write on a full disk: %d %s", status, body)
		}
	}
	mustDescribe(t, c, fmt.Sprintf("full:%d", acked))
	if resp, _ := do(t, mustRequest(t, http.MethodGet, e.URL()+"/health")); resp.StatusCode != http.StatusOK {
		t.Errorf("/health on a full disk: %d", resp.StatusCode)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	td := register(t, c, "full")
	if td.Revision != int32(acked+1) {
		t.Errorf("first registration after freeing space: revision %d, want %d (gapless)", td.Revision, acked+1)
	}
	e.stop(t)

	db, err := sql.Open("sqlite", filepath.Join(dir, sqlitestore.FileName))
	if err != nil {
		t.Fatal(err)
	}
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check after a full disk: %q %v", check, err)
	}
	db.Close()
	again := startServer(t, withDataDir(dir))
	for rev := 1; rev <= acked+1; rev++ {
		mustDescribe(t, again.defaultClient(), fmt.Sprintf("full:%d", rev))
	}
}
