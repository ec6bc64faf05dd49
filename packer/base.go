package packer

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/scratchpack/scratchpack/elfdeps"
	"github.com/scratchpack/scratchpack/transfer"
)

// openBase returns the file system of a non-empty base, read from an
// index of its layers (transfer.OpenBase): nothing of it is written to
// disk. The files a pass over the layers keeps are those wanted
// (wantedInBase: base names of libraries, the interpreter, and the
// loader's configuration); a file the analysis opens that no pass kept is
// read then. It returns nil for scratch, and the BaseFS to Save once the
// analysis is done.
func openBase(ctx context.Context, base v1.Image, spec Spec, o *options, wanted func(string) bool) (fs.FS, *transfer.BaseFS, error) {
	layers, err := base.Layers()
	if err != nil {
		return nil, nil, fmt.Errorf("reading base %s: %w", spec.Base, err)
	}
	if len(layers) == 0 {
		return nil, nil, nil
	}
	opts := []transfer.IndexOption{transfer.WithWanted(wanted)}
	if o.cache != nil {
		opts = append(opts, transfer.WithIndexCache(o.cache))
	}
	bfs, err := transfer.OpenBase(ctx, base, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("reading base %s: %w", spec.Base, err)
	}
	return bfs, bfs, nil
}

// loadBaseFS is transfer.LoadBase, then openBase, at once
// (transfer.LoadBaseFS: a registry base's index in the cache is read while
// its config is fetched). The BaseFS is returned before the hashes of
// layers read in place are known (transfer.WithLateCheck): Build asks
// bfs.Checked before it returns anything made of it.
func loadBaseFS(ctx context.Context, spec Spec, platform v1.Platform, o *options, wanted func(string) bool) (v1.Image, fs.FS, *transfer.BaseFS, error) {
	iopts := []transfer.IndexOption{transfer.WithWanted(wanted), transfer.WithCopyAhead(o.ahead), transfer.WithLateCheck()}
	if o.cache != nil {
		iopts = append(iopts, transfer.WithIndexCache(o.cache))
	}
	img, bfs, err := transfer.LoadBaseFS(ctx, spec.Base, platform, iopts, o.images...)
	if err != nil && img != nil {
		return nil, nil, nil, fmt.Errorf("reading base %s: %w", spec.Base, err)
	}
	if err != nil || bfs == nil {
		return img, nil, nil, err
	}
	return img, bfs, bfs, nil
}

// saveBase keeps what was read of the base in the cache; a cache that
// cannot take it costs the next pack a pass over the base, and a note.
func saveBase(bfs *transfer.BaseFS) []string {
	if bfs == nil {
		return nil
	}
	if err := bfs.Save(); err != nil {
		return []string{fmt.Sprintf("the base's index was not kept in the cache: %v", err)}
	}
	return nil
}

// baseNames are the names of the files a program will look for in a base:
// its interpreter and libraries, as the program names them (DT_NEEDED)
// and as the closure found them.
func baseNames(rep *elfdeps.Report, c *elfdeps.Closure) []string {
	names := append([]string{rep.Interpreter}, rep.Needed...)
	if c != nil {
		libs := c.Libraries
		if c.Interpreter != nil {
			libs = append([]elfdeps.Library{*c.Interpreter}, libs...)
		}
		for _, l := range libs {
			names = append(names, l.Soname, l.Path, l.RealPath)
		}
	}
	return names
}

// wantedInBase accepts the loader's configuration (etc/ld.so.cache, musl's
// etc/ld-musl-ARCH.path) and the files whose base name is one of names'
// base names, or a library file of such a soname: libstdc++.so.6.0.30 for
// libstdc++.so.6, libc-2.31.so for libc.so.6.
func wantedInBase(names []string) func(string) bool {
	exact, stems := map[string]bool{}, map[string]bool{}
	for _, n := range names {
		if n == "" {
			continue
		}
		b := path.Base(n)
		exact[b] = true
		if i := strings.Index(b, ".so"); i > 0 {
			stems[b[:i]] = true
		}
	}
	return func(name string) bool {
		if name == "etc/ld.so.cache" || strings.HasPrefix(name, "etc/ld-musl-") {
			return true
		}
		b := path.Base(name)
		if exact[b] {
			return true
		}
		i := strings.Index(b, ".so")
		if i <= 0 {
			return false
		}
		stem := b[:i]
		if stems[stem] && strings.HasPrefix(b[i:], ".so.") { // libstdc++.so.6.0.30
			return exact[b[:i]+b[i:i+3]+versionPrefix(b[i+3:])]
		}
		// libc-2.31.so: the file libc.so.6 points to in older glibcs.
		if s, _, ok := strings.Cut(stem, "-"); ok && stems[s] && b[i:] == ".so" {
			return true
		}
		return false
	}
}

// versionPrefix is the first number of ".6.0.30": ".6".
func versionPrefix(v string) string {
	if !strings.HasPrefix(v, ".") {
		return ""
	}
	end := strings.IndexByte(v[1:], '.')
	if end < 0 {
		return v
	}
	return v[:end+1]
}
