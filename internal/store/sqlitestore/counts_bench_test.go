//go:build linux || darwin

package sqlitestore

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ecsd/ecsd/internal/store"
)

// BenchmarkCounts is what one metrics scrape asks the store, with 10,000
// tasks (2 KiB documents, mixed statuses and launch types) and 100
// services stored.
func BenchmarkCounts(b *testing.B) {
	s := openStore(b, b.TempDir())
	defer s.Close()
	body := []byte(strings.Repeat("x", 2048))
	statuses := []string{store.TaskRunning, store.TaskRunning, store.TaskRunning, store.TaskPending, store.TaskStopped}
	launch := []string{"FARGATE", "EC2"}
	for batch := range 20 {
		err := s.Update(b.Context(), func(tx store.Tx) error {
			for i := range 500 {
				n := batch*500 + i
				t := store.Task{Scope: scope, Cluster: "default", ID: fmt.Sprintf("%032x", n),
					LastStatus: statuses[n%len(statuses)], LaunchType: launch[n%len(launch)],
					DesiredStatus: store.TaskRunning, CreatedAt: time.Now(), Body: body}
				if t.LastStatus == store.TaskStopped {
					t.DesiredStatus, t.StoppedAt = store.TaskStopped, time.Now()
				}
				if err := tx.PutTask(t); err != nil {
					return err
				}
			}
			if batch < 5 {
				for i := range 20 {
					if err := tx.PutService(store.Service{Scope: scope, Cluster: "default", Name: fmt.Sprintf("svc-%d-%d", batch, i),
						Status: store.ServiceActive, RolloutState: "COMPLETED", Body: body}); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	// On a shared machine the wall time per count is mostly waiting for a
	// CPU; the process's CPU time per count is the cost itself.
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	began := cpu()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.TaskCounts(b.Context()); err != nil {
			b.Fatal(err)
		}
		if _, err := s.ServiceCounts(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpu()-began).Microseconds())/float64(b.N), "cpu-µs/op")
}
