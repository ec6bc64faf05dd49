// Command scratchpack packages a compiled Linux program into the smallest OCI
// image that runs it, without Docker.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	adjustStartingHeap(os.Getenv("GOGC"))
	// SIGHUP (a closed terminal, a dropped SSH session) stops work as SIGTERM does.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	// A reader that stops early (scratchpack ls | head) makes writes to
	// stdout fail with EPIPE, which outputErr takes as the end of the
	// output, instead of killing scratchpack with SIGPIPE.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	err := runApp(ctx, newApp(os.Stdout, os.Stderr), os.Args)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}
