//go:build unix

package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite" // to damage a data directory on purpose

	"github.com/ecsd/ecsd/internal/reliability"
	"github.com/ecsd/ecsd/internal/server"
	"github.com/ecsd/ecsd/internal/store/sqlitestore"
)

// reliabilityBinary is the ecsd the campaigns run: the one built from this
// tree, or ECSD_RELIABILITY_BINARY to campaign against another build.
func reliabilityBinary(t *testing.T) string {
	if bin := os.Getenv("ECSD_RELIABILITY_BINARY"); bin != "" {
		return bin
	}
	return ecsdBinary(t)
}

// TestCrashCampaign is the short CI variant of bench/crash.sh: 5 SIGKILLs
// under concurrent Register/Deregister/RunTask/StopTask/CreateService/
// UpdateService load, each followed by a restart and a full check (every
// acknowledged write present, revisions gapless, no task or service
// duplicated or lost, services converge).
func TestCrashCampaign(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("skipping the crash campaign in -short mode: it kills and restarts ecsd 5 times")
	}
	rep, err := reliability.RunCrash(t.Context(), reliability.CrashConfig{
		Binary: reliabilityBinary(t), WorkDir: t.TempDir(), Kills: 5,
		MinUptime: 200 * time.Millisecond, MaxUptime: time.Second, Seed: uint64(time.Now().UnixNano()),
		Converge: time.Minute,
	})
	t.Logf("\n%s", rep)
	if err != nil {
		for _, f := range rep.Failures {
			t.Error(f)
		}
		t.Fatal(err)
	}
	if rep.Kills != 5 || rep.Verifications != 6 {
		t.Errorf("%d kills and %d verifications, want 5 and 6", rep.Kills, rep.Verifications)
	}
	// The load must have exercised every kind of write, or the campaign
	// proves less than it says.
	for _, kind := range []string{"RegisterTaskDefinition", "DeregisterTaskDefinition", "RunTask", "StopTask", "CreateService", "UpdateService",
		"RegisterContainerInstance", "UpdateContainerInstancesState", "DeregisterContainerInstance", "RunTask (EC2)", "StopTask (EC2)"} {
		if rep.Acked[kind] == 0 {
			t.Errorf("no %s was acknowledged", kind)
		}
	}
	// Every verification balanced the books of some instance holding tasks,
	// and managed scaling grew the provider's group.
	if rep.InstanceChecks == 0 || rep.TasksOnInstances == 0 || rep.GroupMax == 0 {
		t.Errorf("instance books checked %d (holding %d tasks), group up to %d instances: the EC2 load proved nothing",
			rep.InstanceChecks, rep.TasksOnInstances, rep.GroupMax)
	}
}

// TestCrashCampaignNoticesDamage damages the data directory while ecsd is
// dead, as a store that lost or invented writes would, and requires the
// campaign's checks to fail with the matching complaint: a campaign that
// passes whatever the store does proves nothing.
func TestCrashCampaignNoticesDamage(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("skipping in -short mode: it builds and kills ecsd")
	}
	for _, tc := range []struct {
		name   string
		damage string
		want   string
	}{
		{"a lost revision", `DELETE FROM task_definitions WHERE family = 'crash_alpha' AND revision = 1`,
			"missing [1]"},
		{"a lost task", `DELETE FROM tasks WHERE rowid = (SELECT min(rowid) FROM tasks WHERE service = '')`,
			"is gone"},
		{"a duplicated registration", `INSERT INTO task_definitions (account, region, family, revision, status, registered_at, body)
			SELECT account, region, family, (SELECT last_revision + 1 FROM families f WHERE f.family = t.family), status, registered_at, body
			FROM task_definitions t WHERE family = 'crash_bravo' AND revision = 1;
			UPDATE families SET last_revision = last_revision + 1, active_count = active_count + 1, live_count = live_count + 1 WHERE family = 'crash_bravo'`,
			"registered twice"},
		// A task's reservation that no longer matches what it holds: the
		// instance's remaining CPU is off by one.
		{"a double-booked CPU unit", `UPDATE tasks SET reserved_cpu = reserved_cpu + 1
			WHERE rowid = (SELECT min(rowid) FROM tasks WHERE container_instance <> '' AND last_status <> 'STOPPED')`,
			"remaining CPU"},
		// A static host port that two tasks could now both take.
		{"a lost port reservation", `UPDATE tasks SET reserved_ports = ''
			WHERE container_instance <> '' AND last_status <> 'STOPPED' AND reserved_ports <> ''`,
			"remaining PORTS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rep, err := reliability.RunCrash(t.Context(), reliability.CrashConfig{
				Binary: reliabilityBinary(t), WorkDir: t.TempDir(), Kills: 1,
				MinUptime: 500 * time.Millisecond, MaxUptime: 700 * time.Millisecond, Converge: 30 * time.Second,
				AfterKillFunc: func(_ int, dataDir string) error {
					db, err := sql.Open("sqlite", filepath.Join(dataDir, sqlitestore.FileName))
					if err != nil {
						return err
					}
					defer db.Close()
					_, err = db.Exec(tc.damage)
					return err
				},
			})
			if err == nil {
				t.Fatalf("the campaign passed a damaged data directory (%s):\n%s", tc.damage, rep)
			}
			for _, f := range rep.Failures {
				if strings.Contains(f, tc.want) {
					return
				}
			}
			t.Fatalf("no failure mentions %q: %v\n%v", tc.want, err, rep.Failures)
		})
	}
}

// TestBadInputCampaign is the CI variant of bench/badinput.sh: a sample of
// the campaign's hostile requests, slow clients and a connection storm
// against the in-process server, with shorter header timeouts. Zero 5xx,
// every error AWS-shaped, no panic logged, still serving.
func TestBadInputCampaign(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("skipping the bad-input campaign in -short mode")
	}
	var logs syncBuffer
	srv, err := server.Start(t.Context(), server.Config{
		Listen: "127.0.0.1:0", DataDir: t.TempDir(), AccountID: defaultAccount, Region: defaultRegion,
		DeletionDelay: time.Hour, CreateDefaultCluster: true,
		Limits: server.Limits{ReadHeaderTimeout: time.Second},
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	rep, err := reliability.RunBadInput(t.Context(), reliability.BadInputConfig{
		URL: srv.URL(), Sample: 0.15, Concurrency: 4, SlowClients: 8, HeaderTimeout: time.Second, ConnStorm: 200,
		Seed: uint64(time.Now().UnixNano()),
	})
	t.Logf("\n%s", rep)
	if err != nil {
		for _, f := range rep.Failures {
			t.Error(f)
		}
		t.Fatal(err)
	}
	if rep.Requests < 1000 || rep.ServerErrors != 0 || rep.SlowClosed != rep.SlowClients || rep.StormOK != rep.StormConns {
		t.Errorf("requests %d, 5xx %d, slow clients cut %d/%d, storm %d/%d", rep.Requests, rep.ServerErrors,
			rep.SlowClosed, rep.SlowClients, rep.StormOK, rep.StormConns)
	}
	if l := logs.String(); bytes.Contains(bytes.ToLower([]byte(l)), []byte("panic")) {
		t.Errorf("the server logged a panic:\n%s", l)
	}
}

// syncBuffer is a log sink the server's goroutines may share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
