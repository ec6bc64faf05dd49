package main

import (
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/scratchpack/scratchpack/transfer"
	"github.com/urfave/cli/v2"
)

func pullCommand() *cli.Command {
	return &cli.Command{
		Name:      "pull",
		Usage:     "save an image, every platform of it, to a file or layout (for machines without a network)",
		ArgsUsage: "IMAGE",
		Description: `pull copies IMAGE (a registry reference, or any image location pack reads) with
all its platforms to the -o destinations, typically an OCI archive to carry to a
machine that has no network:

  scratchpack pull busybox:glibc -o oci-archive:busybox.tar          (connected)
  scratchpack pack --base oci-archive:busybox.tar -o oci:out ./app    (disconnected)

Reading a base from oci-archive:, oci: or docker-archive: opens no network
connection at all. Destinations: oci:DIR[:TAG], oci-archive:FILE[:TAG], and, for
single-platform images, docker-archive:FILE[:NAME:TAG] and docker://REF. The
digest of what was saved (an index for a multi-platform image) goes to stdout.
--platform OS/ARCH[/VARIANT] saves that platform's image alone, which is what
docker-archive: and docker-daemon: destinations take from a multi-platform image:

  scratchpack pull --platform linux/arm64 busybox:glibc -o docker-archive:bb-arm64.tar

Exit status: 0 saved, 2 bad input, 4 registry or I/O failure, 130 interrupted.`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the image to `DEST`; repeatable"},
			&cli.StringFlag{Name: "platform", Usage: "save only the image for `OS/ARCH[/VARIANT]` (default: every platform)"},
			&cli.BoolFlag{Name: "insecure", Usage: "allow plain HTTP to registries other than localhost"},
			forceFlag(),
			timeoutFlag(),
		},
		Action: func(c *cli.Context) error {
			args, outputs := operands(c), c.StringSlice("output")
			if len(args) != 1 {
				return withCode(exitBadInput, errors.New("pull needs one IMAGE, e.g. scratchpack pull busybox:glibc -o oci-archive:busybox.tar"))
			}
			src, err := transfer.ParseRef(args[0])
			if err != nil {
				return withCode(exitBadInput, err)
			}
			if len(outputs) == 0 {
				return withCode(exitBadInput, errors.New("pull needs -o DEST, e.g. -o oci-archive:base.tar"))
			}
			var dsts []transfer.Ref
			for _, o := range outputs {
				r, err := transfer.ParseDest(o)
				if err == nil {
					err = transfer.CheckDestDir(r)
				}
				if err != nil {
					return withCode(exitBadInput, fmt.Errorf("-o %s: %w", o, err))
				}
				dsts = append(dsts, r)
			}
			var digest v1.Hash
			if p := c.String("platform"); p != "" {
				platform, perr := v1.ParsePlatform(p)
				if perr != nil {
					return withCode(exitBadInput, fmt.Errorf("--platform %q: %w", p, perr))
				}
				digest, err = transfer.CopyPlatform(c.Context, src, *platform, dsts, writeOptions(c)...)
			} else {
				digest, err = transfer.Copy(c.Context, src, dsts, writeOptions(c)...)
			}
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
