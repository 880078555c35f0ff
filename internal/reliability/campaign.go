package reliability

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"
)

// Campaign is the command line the campaign commands under bench/ share:
// the ecsd binary they start, the seed of their random choices and the
// directory that keeps the server's data and logs. Each command defines
// its own flags beside these before calling Parse.
type Campaign struct {
	Binary string // -ecsd
	Seed   uint64 // -seed
	Dir    string // -work, or the temporary directory Parse made

	name string // the command, as its messages name it
	work string // -work as given: a directory Parse made is removed on success
}

// NewCampaign defines -ecsd, -seed and -work on the default flag set for
// the command name; seedHelp and workHelp are the help of -seed and -work,
// which say what the command does with them.
func NewCampaign(name, seedHelp, workHelp string) *Campaign {
	c := &Campaign{name: name}
	flag.StringVar(&c.Binary, "ecsd", "", "path to the ecsd binary (required)")
	flag.Uint64Var(&c.Seed, "seed", uint64(time.Now().UnixNano()), seedHelp)
	flag.StringVar(&c.work, "work", "", workHelp)
	return c
}

// Parse parses the command line and exits 2 if it names no -ecsd. Without
// -work it makes a temporary directory (or exits 1). It returns a context
// that an interrupt cancels.
func (c *Campaign) Parse() (context.Context, context.CancelFunc) {
	flag.Parse()
	if c.Binary == "" {
		fmt.Fprintln(os.Stderr, c.name+": -ecsd is required")
		os.Exit(2)
	}
	c.Dir = c.work
	if c.Dir == "" {
		var err error
		if c.Dir, err = os.MkdirTemp("", "ecsd-"+c.name+"-"); err != nil {
			fmt.Fprintln(os.Stderr, c.name+":", err)
			os.Exit(1)
		}
	}
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

// Finish ends the command once its report is printed. If the campaign
// failed (err) it prints each failure and exits 1, keeping the directory;
// kept names what is in it. Otherwise it removes a directory Parse made
// and prints PASS.
func (c *Campaign) Finish(failures []string, err error, kept string) {
	if err != nil {
		for _, f := range failures {
			fmt.Println("FAIL:", f)
		}
		fmt.Fprintln(os.Stderr, c.name+": FAILED:", err, "("+kept+" kept in", c.Dir+")")
		os.Exit(1)
	}
	if c.work == "" {
		_ = os.RemoveAll(c.Dir)
	}
	fmt.Println("PASS")
}
