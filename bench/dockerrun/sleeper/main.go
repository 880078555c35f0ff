// Command sleeper is the benchmark's container: it does nothing until
// SIGTERM, then exits 0 at once, so a stop measures the runtime, not the
// program.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	<-ch
}
