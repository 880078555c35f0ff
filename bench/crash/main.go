// Command crash is the crash-safety campaign: it starts an ecsd binary on a
// fresh data directory, runs concurrent Register/Deregister/RunTask/
// StopTask/CreateService/UpdateService load, SIGKILLs ecsd at random
// moments, restarts it each time and checks that every acknowledged write
// survived, revision numbers stay gapless, no task or service is duplicated
// or lost, and services converge again. bench/crash.sh builds ecsd and runs
// it; see docs/reliability.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/ecsd/ecsd/internal/reliability"
)

func main() {
	bin := flag.String("ecsd", "", "path to the ecsd binary (required)")
	kills := flag.Int("kills", 20, "how many times to SIGKILL ecsd under load")
	uptime := flag.Duration("max-uptime", 1500*time.Millisecond, "load runs for a random time up to this before each kill")
	converge := flag.Duration("converge", 60*time.Second, "deadline for services and tasks to converge after each restart")
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()), "random seed (printed, to replay a run's timing choices)")
	work := flag.String("work", "", "directory for the data dir and ecsd logs (default: a new temporary directory, kept on failure)")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "crash: -ecsd is required")
		os.Exit(2)
	}
	dir := *work
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "ecsd-crash-"); err != nil {
			fmt.Fprintln(os.Stderr, "crash:", err)
			os.Exit(1)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Printf("crash campaign: %d kills, seed %d, work dir %s\n", *kills, *seed, dir)
	start := time.Now()
	rep, err := reliability.RunCrash(ctx, reliability.CrashConfig{
		Binary: *bin, WorkDir: dir, Kills: *kills, MaxUptime: *uptime, Converge: *converge, Seed: *seed, Progress: os.Stdout,
	})
	fmt.Print(rep)
	fmt.Printf("took %s\n", time.Since(start).Round(time.Second))
	if err != nil {
		for _, f := range rep.Failures {
			fmt.Println("FAIL:", f)
		}
		fmt.Fprintln(os.Stderr, "crash: FAILED:", err, "(logs and data kept in", dir+")")
		os.Exit(1)
	}
	if *work == "" {
		_ = os.RemoveAll(dir)
	}
	fmt.Println("PASS")
}
