// Command crash is the crash-safety campaign: it starts an ecsd binary on a
// fresh data directory, runs concurrent Register/Deregister/RunTask/
// StopTask/CreateService/UpdateService load and EC2 load (container
// instances registered, drained and deregistered, EC2 tasks with static and
// dynamic host ports, a capacity provider's group scaling out and in),
// SIGKILLs ecsd at random moments, restarts it each time and checks that
// every acknowledged write survived, revision numbers stay gapless, no task
// or service is duplicated or lost, services converge again, and no
// container instance's CPU, memory or ports are booked twice. bench/crash.sh builds ecsd and runs
// it; see docs/reliability.md.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/ecsd/ecsd/internal/reliability"
)

func main() {
	camp := reliability.NewCampaign("crash", "random seed (printed, to replay a run's timing choices)",
		"directory for the data dir and ecsd logs (default: a new temporary directory, kept on failure)")
	kills := flag.Int("kills", 20, "how many times to SIGKILL ecsd under load")
	uptime := flag.Duration("max-uptime", 1500*time.Millisecond, "load runs for a random time up to this before each kill")
	converge := flag.Duration("converge", 60*time.Second, "deadline for services and tasks to converge after each restart")
	ctx, stop := camp.Parse()
	defer stop()
	fmt.Printf("crash campaign: %d kills, seed %d, work dir %s\n", *kills, camp.Seed, camp.Dir)
	start := time.Now()
	rep, err := reliability.RunCrash(ctx, reliability.CrashConfig{
		Binary: camp.Binary, WorkDir: camp.Dir, Kills: *kills, MaxUptime: *uptime, Converge: *converge, Seed: camp.Seed, Progress: os.Stdout,
	})
	fmt.Print(rep)
	fmt.Printf("took %s\n", time.Since(start).Round(time.Second))
	camp.Finish(rep.Failures, err, "logs and data")
}
