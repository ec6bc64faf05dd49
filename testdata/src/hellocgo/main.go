// Command hellocgo is the cgo fixture: a Go program linked against libc.so.6 through the
// system loader. Build it with CGO_ENABLED=1 (see the Makefile).
package main

/*
#include <unistd.h>
*/
import "C"

import (
	"fmt"
	"os"
)

func main() {
	// A real call into libc, so the binary cannot run without it.
	if C.getpid() <= 0 {
		fmt.Fprintln(os.Stderr, "getpid failed")
		os.Exit(1)
	}
	fmt.Println("hello from cgo")
}
