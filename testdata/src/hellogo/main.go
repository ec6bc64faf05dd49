// Command hellogo is the pure-Go fixture: static, no interpreter, no libraries.
// Build it with CGO_ENABLED=0 go build ./testdata/src/hellogo (see the Makefile).
package main

import "fmt"

func main() {
	fmt.Println("hello from Go")
}
