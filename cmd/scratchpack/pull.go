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
		Name:        "pull",
		Usage:       "save an image, every platform of it, to a file or layout (for machines without a network)",
		ArgsUsage:   "IMAGE",
		Description: helpText("pull"),
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the image to `DEST`; repeatable"},
			&cli.StringFlag{Name: "platform", Usage: "save only the image for `OS/ARCH[/VARIANT]` (default: every platform)"},
			forceFlag(),
			timeoutFlag(),
		}, registryFlags()...),
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
			dsts, err := destinations(outputs, nil)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			opts, err := writeOptions(c)
			if err != nil {
				return withCode(exitBadInput, err)
			}
			var digest v1.Hash
			if p := c.String("platform"); p != "" {
				platform, perr := v1.ParsePlatform(p)
				if perr != nil {
					return withCode(exitBadInput, fmt.Errorf("--platform %q: %w", p, perr))
				}
				digest, err = transfer.CopyPlatform(c.Context, src, *platform, dsts, opts...)
			} else {
				digest, err = transfer.Copy(c.Context, src, dsts, opts...)
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
