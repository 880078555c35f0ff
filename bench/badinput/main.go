// Command badinput is the bad-input campaign: it starts an ecsd binary and
// sends it at least -min requests that are malformed or hostile (wrong
// types in every member, out-of-range numbers, invalid UTF-8, huge strings
// at the body limit's edge, deep nesting, truncated JSON, unknown and
// duplicate members, wrong content types and targets, oversized bodies,
// huge headers), while slow clients dribble headers and a storm of
// connections arrives at once. It requires zero 5xx answers, zero panics
// in the log, every error AWS-shaped, the server still serving and its
// memory bounded, and prints the counts. bench/badinput.sh builds ecsd and
// runs it; see docs/reliability.md.
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
	minReqs := flag.Int("min", 10000, "send at least this many requests (mutated seeds pad the generated ones)")
	conc := flag.Int("c", 8, "parallel senders")
	rounds := flag.Int("rounds", 1, "send the generated requests this many times (RSS is read after each round)")
	slow := flag.Int("slow", 64, "slow clients dribbling headers")
	storm := flag.Int("storm", 1000, "connections opened at once in the storm")
	maxRSS := flag.Int64("max-rss-mib", 512, "fail if the server's resident memory exceeds this")
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()), "random seed")
	work := flag.String("work", "", "directory for the data dir and log (default: temporary, kept on failure)")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "badinput: -ecsd is required")
		os.Exit(2)
	}
	dir := *work
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "ecsd-badinput-"); err != nil {
			fmt.Fprintln(os.Stderr, "badinput:", err)
			os.Exit(1)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Printf("bad-input campaign: seed %d, work dir %s\n", *seed, dir)
	rep, err := reliability.RunBadInput(ctx, reliability.BadInputConfig{
		Binary: *bin, WorkDir: dir, MinRequests: *minReqs, Concurrency: *conc, Rounds: *rounds, SlowClients: *slow,
		ConnStorm: *storm, MaxRSS: *maxRSS << 20, Seed: *seed, Progress: os.Stdout,
	})
	fmt.Print(rep)
	if err != nil {
		for _, f := range rep.Failures {
			fmt.Println("FAIL:", f)
		}
		fmt.Fprintln(os.Stderr, "badinput: FAILED:", err, "(log and data kept in", dir+")")
		os.Exit(1)
	}
	if *work == "" {
		_ = os.RemoveAll(dir)
	}
	fmt.Println("PASS")
}
