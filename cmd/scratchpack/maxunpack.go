package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/scratchpack/scratchpack/transfer"
	"github.com/urfave/cli/v2"
)

// maxUnpackFlag bounds what one layer of a base or image may unpack to.
func maxUnpackFlag() cli.Flag {
	return &cli.StringFlag{Name: "max-unpack", Value: "32GiB",
		Usage: "refuse a layer that unpacks to more than `SIZE` (bytes, or with KiB, MiB, GiB, TiB): a gzip bomb stops there, or at the free space of TMPDIR",
		Action: func(_ *cli.Context, v string) error {
			if _, err := parseSize(v); err != nil {
				return withCode(exitBadInput, fmt.Errorf("--max-unpack %q: %w", v, err))
			}
			return nil
		}}
}

// maxUnpackOptions are the packer options of --max-unpack, checked by its
// flag's Action; none where the command has no such flag.
func maxUnpackOptions(c *cli.Context) []transfer.Option {
	n, err := parseSize(c.String("max-unpack"))
	if err != nil {
		return nil
	}
	return []transfer.Option{transfer.WithMaxUnpack(n)}
}

// parseSize reads a byte count: 1024, 512MiB, 32GiB (or K, M, G, T, KB ...,
// all powers of 1024).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	upper := strings.ToUpper(t)
	for i, unit := range []string{"K", "M", "G", "T"} {
		for _, suffix := range []string{unit + "IB", unit + "B", unit} {
			if strings.HasSuffix(upper, suffix) {
				mult, t = int64(1)<<(10*(i+1)), strings.TrimSpace(t[:len(t)-len(suffix)])
				goto parse
			}
		}
	}
	if strings.HasSuffix(upper, "B") {
		t = strings.TrimSpace(t[:len(t)-1])
	}
parse:
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 1 || n > (1<<62)/mult {
		return 0, fmt.Errorf("want a size such as 512MiB or 32GiB")
	}
	return n * mult, nil
}
