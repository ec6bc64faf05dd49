// Command gozone is the Go time-zone fixture: it loads Europe/Paris with
// time.LoadLocation, which reads /usr/share/zoneinfo (this program does
// not embed time/tzdata), and prints a fixed instant in that zone.
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	t := time.Date(2024, time.July, 14, 12, 0, 0, 0, time.UTC)
	fmt.Println(t.In(loc).Format("2006-01-02 15:04:05 MST"))
}
