// Command failover is the failover campaign on this machine's Docker
// Engine: PostgreSQL and three ecsd replicas in containers, the crash
// campaign's load spread over all three, the leader SIGKILLed, later the
// new leader cut from the database and reconnected; then the crash
// campaign's checks and the measured takeover times. bench/failover.sh
// builds both images (no registry needed) and runs it; see
// docs/reliability.md.
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
	ecsdImage := flag.String("ecsd-image", "", "ecsd image (deploy/docker/build-image.sh; required)")
	pgImage := flag.String("postgres-image", "", "PostgreSQL image (deploy/compose/build-postgres-image.sh; required)")
	replicas := flag.Int("replicas", 3, "ecsd replicas")
	load := flag.Duration("load", 3*time.Second, "load before each fault and again after it")
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()), "random seed (printed, to replay a run's choices)")
	work := flag.String("work", "", "directory for the containers' logs (default: a new temporary directory, kept on failure)")
	flag.Parse()
	if *ecsdImage == "" || *pgImage == "" {
		fmt.Fprintln(os.Stderr, "failover: -ecsd-image and -postgres-image are required")
		os.Exit(2)
	}
	dir := *work
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "ecsd-failover-"); err != nil {
			fmt.Fprintln(os.Stderr, "failover:", err)
			os.Exit(1)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Printf("failover campaign: %d replicas, seed %d, logs in %s\n", *replicas, *seed, dir)
	start := time.Now()
	rep, err := reliability.RunFailover(ctx, reliability.FailoverConfig{
		ECSDImage: *ecsdImage, PostgresImage: *pgImage, Replicas: *replicas, Load: *load, Seed: *seed,
		WorkDir: dir, Progress: os.Stdout,
	})
	fmt.Print(rep)
	fmt.Printf("took %s\n", time.Since(start).Round(time.Second))
	if err != nil {
		for _, f := range rep.Failures {
			fmt.Println("FAIL:", f)
		}
		fmt.Fprintln(os.Stderr, "failover: FAILED:", err, "(container logs kept in", dir+")")
		os.Exit(1)
	}
	if *work == "" {
		_ = os.RemoveAll(dir)
	}
	fmt.Println("PASS")
}
