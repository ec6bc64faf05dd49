package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/scratchpack/scratchpack/packer"
	"github.com/scratchpack/scratchpack/runner"
	"github.com/scratchpack/scratchpack/transfer"
)

// runtimeHelp is the part of pack --help in help/pack-runtime.txt.
var runtimeHelp = helpText("pack-runtime")

func runtimeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "no-runtime-extras", Usage: "leave out what the run-time analysis found (NSS files, libgcc_s, gconv, certificates, zones) and the default /etc/passwd and /etc/group"},
		&cli.StringSliceFlag{Name: "include-lib", Usage: "also bundle library `SONAME|PATH` with its closure, found as the loader finds DT_NEEDED entries; repeatable"},
		&cli.StringSliceFlag{Name: "include", Usage: "also add `PATH` of --root (a file or directory) at the same path; repeatable"},
		&cli.BoolFlag{Name: "ca-certs", Usage: "always add the CA certificate bundle"},
		&cli.BoolFlag{Name: "no-ca-certs", Usage: "never add the CA certificate bundle"},
		&cli.StringFlag{Name: "ca-bundle", Usage: "bundle the PEM `FILE` as the CA certificates (implies --ca-certs)"},
		&cli.BoolFlag{Name: "tzdata", Usage: "always add the zone database /usr/share/zoneinfo"},
		&cli.BoolFlag{Name: "no-tzdata", Usage: "never add the zone database"},
		&cli.BoolFlag{Name: "trace", Usage: "RUN the program once on this machine under strace and add what it uses (never by default)"},
		&cli.BoolFlag{Name: "trace-report", Usage: "like --trace, but only print what it used"},
		&cli.DurationFlag{Name: "trace-timeout", Value: 30 * time.Second, Usage: "stop a --trace run after `DURATION`"},
	}
}

// runtimeSpec turns the run-time flags into spec.Runtime.
func runtimeSpec(c *cli.Context, spec *packer.Spec) error {
	rs := packer.RuntimeSpec{
		NoExtras:    c.Bool("no-runtime-extras"),
		IncludeLibs: c.StringSlice("include-lib"),
		Include:     c.StringSlice("include"),
		CABundle:    c.String("ca-bundle"),
	}
	var err error
	if rs.CACerts, err = onOff(c, "ca-certs"); err != nil {
		return err
	}
	if rs.TZData, err = onOff(c, "tzdata"); err != nil {
		return err
	}
	spec.Runtime = rs
	return nil
}

// traceSpec is the run --trace and --trace-report ask for, nil without them.
func traceSpec(c *cli.Context, spec packer.Spec) (*runner.TraceSpec, error) {
	if !c.Bool("trace") && !c.Bool("trace-report") {
		return nil, nil
	}
	if spec.Root != "" && spec.Root != "/" {
		return nil, fmt.Errorf("--trace runs the program on this machine, so it works only with --sysroot / (not %s)", spec.Root)
	}
	ts := &runner.TraceSpec{Program: spec.Program, Args: spec.Config.Cmd, Env: spec.Config.Env, WorkDir: spec.WorkDir,
		Timeout: c.Duration("trace-timeout"), Skip: traceSkips(c)}
	ts.Home, _ = os.UserHomeDir()
	return ts, nil
}

// traceSkips are the paths scratchpack writes that a traced run may touch:
// the layer cache and the destinations.
func traceSkips(c *cli.Context) []string {
	var skip []string
	if dir := c.String("cache"); dir != "" {
		skip = append(skip, dir)
	} else if base, err := os.UserCacheDir(); err == nil {
		skip = append(skip, filepath.Join(base, "scratchpack"))
	}
	for _, o := range c.StringSlice("output") {
		if ref, err := transfer.ParseRef(o); err == nil && ref.Path != "" {
			skip = append(skip, ref.Path)
		}
	}
	for i, p := range skip {
		if abs, err := filepath.Abs(p); err == nil {
			skip[i] = abs
		}
	}
	return skip
}

// onOff reads a --NAME / --no-NAME pair.
func onOff(c *cli.Context, name string) (packer.Switch, error) {
	on, off := c.Bool(name), c.Bool("no-"+name)
	switch {
	case on && off:
		return packer.Auto, fmt.Errorf("--%s and --no-%s contradict each other", name, name)
	case on:
		return packer.On, nil
	case off:
		return packer.Off, nil
	}
	return packer.Auto, nil
}
