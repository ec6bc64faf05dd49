package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/scratchpack/scratchpack/packer"
)

func pullCommand() *cli.Command {
	return &cli.Command{
		Name:      "pull",
		Usage:     "save an image, every platform of it, to a file or layout (for machines without a network)",
		ArgsUsage: "[flags] IMAGE",
		Description: `pull copies IMAGE (a registry reference, or any image location pack reads) with
all its platforms to the -o destinations, typically an OCI archive to carry to a
machine that has no network:

  scratchpack pull busybox:glibc -o oci-archive:busybox.tar          (connected)
  scratchpack pack --base oci-archive:busybox.tar -o oci:out ./app    (disconnected)

Reading a base from oci-archive:, oci: or docker-archive: opens no network
connection at all. Destinations: oci:DIR[:TAG], oci-archive:FILE[:TAG], and, for
single-platform images, docker-archive:FILE[:NAME:TAG] and docker://REF. The
digest of what was saved (an index for a multi-platform image) goes to stdout.

Exit status: 0 saved, 2 bad input, 4 registry or I/O failure, 130 interrupted.`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the image to `DEST`; repeatable"},
			&cli.BoolFlag{Name: "insecure", Usage: "allow plain HTTP to registries other than localhost"},
		},
		Action: func(c *cli.Context) error {
			args, outputs, err := trailingOutputs(c.Args().Slice())
			if err != nil {
				return withCode(exitBadInput, err)
			}
			outputs = append(c.StringSlice("output"), outputs...)
			if len(args) != 1 {
				return withCode(exitBadInput, errors.New("pull needs one IMAGE, e.g. scratchpack pull busybox:glibc -o oci-archive:busybox.tar"))
			}
			src, err := packer.ParseRef(args[0])
			if err != nil {
				return withCode(exitBadInput, err)
			}
			if len(outputs) == 0 {
				return withCode(exitBadInput, errors.New("pull needs -o DEST, e.g. -o oci-archive:base.tar"))
			}
			var dsts []packer.Ref
			for _, o := range outputs {
				r, err := packer.ParseRef(o)
				if err != nil {
					return withCode(exitBadInput, fmt.Errorf("-o %s: %w", o, err))
				}
				dsts = append(dsts, r)
			}
			digest, err := packer.Copy(c.Context, src, dsts, writeOptions(c)...)
			if err != nil {
				return classify(err)
			}
			for _, d := range dsts {
				fmt.Fprintf(c.App.ErrWriter, "wrote %s\n", d)
			}
			fmt.Fprintln(c.App.Writer, digest)
			return nil
		},
	}
}

// trailingOutputs takes -o DEST (and --output DEST, -o=DEST) out of args,
// so that `pull IMAGE -o DEST` works as well as `pull -o DEST IMAGE`.
func trailingOutputs(args []string) (rest, outputs []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-o" || a == "--output" || a == "-output":
			if i+1 == len(args) {
				return nil, nil, fmt.Errorf("%s needs a DEST", a)
			}
			outputs = append(outputs, args[i+1])
			i++
		case strings.HasPrefix(a, "-o=") || strings.HasPrefix(a, "--output="):
			_, v, _ := strings.Cut(a, "=")
			outputs = append(outputs, v)
		default:
			rest = append(rest, a)
		}
	}
	return rest, outputs, nil
}
