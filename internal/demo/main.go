// Command demo is what `make demo` runs: it packs the built-in examples with
// bin/scratchpack onto scratch and onto a busybox:glibc-shaped base that
// scratchpack itself makes from Debian's busybox, and prints a table of image
// sizes beside what a single-stage `FROM gcc` image would weigh.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
)

const out = "testdata/out/demo"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type packResult struct {
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
	ImageSize int64  `json:"image_size"`
}

func run() error {
	os.RemoveAll(out)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	// A busybox:glibc-shaped base, made by scratchpack: busybox and its
	// glibc closure, with the applets it needs as links.
	base := filepath.Join(out, "busybox-glibc.tar")
	applets := filepath.Join(out, "applets")
	os.MkdirAll(applets, 0o755)
	for _, applet := range []string{"sh", "ls", "cat", "echo"} {
		os.Symlink("busybox", filepath.Join(applets, applet))
	}
	bb := []string{"pack", "--json", "--dest", "/bin/busybox", "--cmd", "sh", "--add", applets + ":/bin", "-o", base, "/bin/busybox"}
	if _, err := pack(bb...); err != nil {
		return fmt.Errorf("making the busybox:glibc base: %w", err)
	}
	gcc, err := toolchainSize()
	if err != nil {
		return err
	}

	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "program\tfiles\ton scratch\ton busybox:glibc\tFROM gcc\tdigest on scratch\t")
	fmt.Fprintln(w, "\t(uncompressed)\t(compressed)\t(compressed)\t(uncompressed, ≥)\t\t")
	for _, name := range []string{"hello-c", "hello-cc", "hello-musl", "hello-go", "hello-cgo", "hello-c-static"} {
		prog := filepath.Join("testdata/bin", name)
		s, err := pack("pack", "--json", "-o", "oci:"+filepath.Join(out, "layout")+":"+name, prog)
		if err != nil {
			return err
		}
		b, err := pack("pack", "--json", "--base", "oci-archive:"+base, "-o", "oci:"+filepath.Join(out, "layout")+":"+name+"-busybox", prog)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t\n", name, mb(s.Size), mb(s.ImageSize), mb(b.ImageSize), mb(gcc+s.Size), s.Digest[:19])
	}
	w.Flush()
	fmt.Printf("\nfiles: what the program needs, unpacked. Compressed: the bytes a registry stores and a pull moves.\n"+
		"FROM gcc is a floor: the installed size of Debian's gcc, g++, binutils and libc6-dev on this machine\n"+
		"(dpkg-query) plus the program; the real gcc:12 image adds all of Debian and buildpack-deps on top.\n"+
		"Images are in %s (an OCI layout: try skopeo inspect oci:%s/layout:hello-cc).\n", out, out)
	return nil
}

func pack(args ...string) (packResult, error) {
	var r packResult
	cmd := exec.Command("bin/scratchpack", args...)
	cmd.Stderr = nil
	b, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return r, fmt.Errorf("scratchpack %s: %v\n%s", strings.Join(args, " "), err, ee.Stderr)
		}
		return r, err
	}
	return r, json.Unmarshal(b, &r)
}

// toolchainSize is the installed size, in bytes, of the Debian packages a
// C/C++ build stage needs at the least.
func toolchainSize() (int64, error) {
	pkgs := []string{"gcc-12", "g++-12", "cpp-12", "binutils", "binutils-x86-64-linux-gnu", "libc6-dev", "libstdc++-12-dev", "libgcc-12-dev", "libc6", "libstdc++6"}
	b, err := exec.Command("dpkg-query", append([]string{"-W", "-f", "${Installed-Size}\n"}, pkgs...)...).Output()
	if err != nil {
		return 0, fmt.Errorf("dpkg-query: %w", err)
	}
	var kb int64
	for _, f := range strings.Fields(string(b)) {
		n, _ := strconv.ParseInt(f, 10, 64)
		kb += n
	}
	return kb * 1024, nil
}

func mb(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%.0f kB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}
