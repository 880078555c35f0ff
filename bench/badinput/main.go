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
	"flag"
	"fmt"
	"os"

	"github.com/ecsd/ecsd/internal/reliability"
)

func main() {
	camp := reliability.NewCampaign("badinput", "random seed", "directory for the data dir and log (default: temporary, kept on failure)")
	minReqs := flag.Int("min", 10000, "send at least this many requests (mutated seeds pad the generated ones)")
	conc := flag.Int("c", 8, "parallel senders")
	rounds := flag.Int("rounds", 1, "send the generated requests this many times (RSS is read after each round)")
	slow := flag.Int("slow", 64, "slow clients dribbling headers")
	storm := flag.Int("storm", 1000, "connections opened at once in the storm")
	maxRSS := flag.Int64("max-rss-mib", 512, "fail if the server's resident memory exceeds this")
	ctx, stop := camp.Parse()
	defer stop()
	fmt.Printf("bad-input campaign: seed %d, work dir %s\n", camp.Seed, camp.Dir)
	rep, err := reliability.RunBadInput(ctx, reliability.BadInputConfig{
		Binary: camp.Binary, WorkDir: camp.Dir, MinRequests: *minReqs, Concurrency: *conc, Rounds: *rounds, SlowClients: *slow,
		ConnStorm: *storm, MaxRSS: *maxRSS << 20, Seed: camp.Seed, Progress: os.Stdout,
	})
	fmt.Print(rep)
	camp.Finish(rep.Failures, err, "log and data")
}
