package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/urfave/cli/v2"

	"github.com/scratchpack/scratchpack/packer"
	"github.com/scratchpack/scratchpack/transfer"
)

func lsCommand() *cli.Command {
	return &cli.Command{
		Name:        "ls",
		Usage:       "list the files of an image: modes, sizes, link targets and layers",
		ArgsUsage:   "IMAGE",
		Description: helpText("ls"),
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "platform", Value: "linux/" + runtime.GOARCH, DefaultText: "this machine's, linux/" + runtime.GOARCH, Usage: "`OS/ARCH[/VARIANT]` to list, for a multi-platform image"},
			maxUnpackFlag(),
			timeoutFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print the files as JSON on stdout"},
		}, registryFlags()...),
		Action: runLs,
	}
}

// lsEntry is one file of ls --json.
type lsEntry struct {
	Path   string `json:"path"`
	Type   string `json:"type"`
	Mode   string `json:"mode"` // octal permission bits with set-id and sticky bits, e.g. 0755
	UID    int    `json:"uid"`
	GID    int    `json:"gid"`
	Size   int64  `json:"size"`
	Target string `json:"target,omitempty"`
	Layer  int    `json:"layer"`
	Digest string `json:"layer_digest"`
}

func runLs(c *cli.Context) error {
	args := operands(c)
	if len(args) != 1 {
		return withCode(exitBadInput, errors.New("ls needs one IMAGE, e.g. scratchpack ls oci:out:hello"))
	}
	ref, err := transfer.ParseRef(args[0])
	if err != nil {
		return withCode(exitBadInput, err)
	}
	p, err := v1.ParsePlatform(c.String("platform"))
	if err != nil {
		return withCode(exitBadInput, fmt.Errorf("--platform: %w", err))
	}
	opts, err := writeOptions(c)
	if err != nil {
		return withCode(exitBadInput, err)
	}
	files, err := transfer.List(c.Context, ref, *p, opts...)
	if err != nil {
		return classify(err)
	}
	if c.Bool("json") {
		out := make([]lsEntry, 0, len(files))
		for _, f := range files {
			out = append(out, lsEntry{Path: f.Path, Type: f.Type.String(), Mode: fmt.Sprintf("%04o", packer.UnixMode(f.Mode)), UID: f.UID, GID: f.GID,
				Size: f.Size, Target: f.Target, Layer: f.Layer, Digest: f.Digest.String()})
		}
		return outputErr(json.NewEncoder(c.App.Writer).Encode(out))
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', tabwriter.AlignRight)
	var total int64
	for _, f := range files {
		name := printable(f.Path)
		switch f.Type {
		case transfer.TypeSymlink:
			name += " -> " + printable(f.Target)
		case transfer.TypeHardlink:
			name += " link to " + printable(f.Target)
		}
		fmt.Fprintf(tw, "%s\t%d:%d\t%d\tlayer %d\t  %s\n", modeString(f), f.UID, f.GID, f.Size, f.Layer, name)
		if f.Type == transfer.TypeFile {
			total += f.Size
		}
	}
	if err := tw.Flush(); err != nil {
		return outputErr(err)
	}
	fmt.Fprintf(c.App.ErrWriter, "%d entries, %s in regular files\n", len(files), sizeOf(total))
	return nil
}

// modeString is ls -l's mode column.
func modeString(f transfer.Listing) string {
	m := f.Mode
	switch f.Type {
	case transfer.TypeDir:
		m |= fs.ModeDir
	case transfer.TypeSymlink:
		m |= fs.ModeSymlink | 0o777
	case transfer.TypeOther:
		m |= fs.ModeIrregular
	}
	s := []byte(m.String())
	// fs.FileMode writes set-id and sticky as prefixes; ls folds them in.
	for len(s) > 10 {
		s = s[1:]
	}
	switch f.Type {
	case transfer.TypeDir:
		s[0] = 'd'
	case transfer.TypeSymlink:
		s[0] = 'l'
	case transfer.TypeHardlink, transfer.TypeFile:
		s[0] = '-'
	}
	if m&fs.ModeSetuid != 0 {
		s[3] = map[bool]byte{true: 's', false: 'S'}[s[3] == 'x']
	}
	if m&fs.ModeSetgid != 0 {
		s[6] = map[bool]byte{true: 's', false: 'S'}[s[6] == 'x']
	}
	if m&fs.ModeSticky != 0 {
		s[9] = map[bool]byte{true: 't', false: 'T'}[s[9] == 'x']
	}
	return string(s)
}

// printable is s as it is when every character of it prints as itself, else
// quoted with Go's escapes (%q): a name from an image with a newline, a
// terminal escape sequence or a bidirectional override must neither forge a
// line of the listing nor reach the terminal.
func printable(s string) string {
	if !utf8.ValidString(s) || strings.HasPrefix(s, `"`) || strings.IndexFunc(s, func(r rune) bool { return !strconv.IsPrint(r) }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}
