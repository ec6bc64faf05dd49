package elfdeps

import (
	"bytes"
	"debug/elf"
	"io"
)

// What a Go program uses is read from its function-name table. debug/buildinfo
// lists modules, not packages, and a stripped program (-ldflags=-s) has no
// .symtab; but every Go program keeps the runtime's pclntab, whose funcnametab
// holds the NUL-terminated name of every function linked in ("crypto/tls.(*Conn).Handshake"),
// inlined ones included. The linker drops unreachable functions, so a name
// there means the program can call it. scratchpack looks for a few
// prefixes, each right after a NUL (the start of a name), in .gopclntab,
// or in the whole file (bounded) when that section is not there.

// Go packages and functions scratchpack looks for (GoInfo.Uses).
const (
	GoUsesTLS          = "crypto/tls"        // TLS clients and servers verify against the system's CA certificates
	GoUsesNet          = "net"               // the resolver reads /etc/hosts, /etc/nsswitch.conf and /etc/resolv.conf
	GoUsesLoadLocation = "time.LoadLocation" // reads /usr/share/zoneinfo, unless time/tzdata is linked in
	GoUsesTZData       = "time/tzdata"       // the zone database is embedded in the program
	GoUsesUser         = "os/user"           // reads /etc/passwd and /etc/group
)

// goMarkers are the function-name prefixes that show each use.
var goMarkers = []struct{ use, prefix string }{
	{GoUsesTLS, "\x00crypto/tls."},
	{GoUsesNet, "\x00net.(*Resolver)."},
	{GoUsesLoadLocation, "\x00time.LoadLocation\x00"},
	{GoUsesTZData, "\x00time/tzdata."},
	{GoUsesUser, "\x00os/user."},
}

// maxGoScan bounds the bytes searched for function names.
const maxGoScan = 512 << 20

// readGoUses returns the uses goMarkers finds in a Go program.
func readGoUses(f *elf.File, r io.ReaderAt) ([]string, error) {
	var src io.Reader
	if s := f.Section(".gopclntab"); s != nil && s.Type != elf.SHT_NOBITS && s.Flags&elf.SHF_COMPRESSED == 0 {
		src = io.NewSectionReader(s, 0, min(int64(s.Size), maxGoScan))
	} else {
		src = io.NewSectionReader(r, 0, maxGoScan)
	}
	found := map[string]bool{}
	// Scan in chunks that overlap by the longest marker, so a name split
	// between two chunks is still found.
	overlap := 0
	for _, m := range goMarkers {
		overlap = max(overlap, len(m.prefix))
	}
	buf := make([]byte, 1<<20)
	keep := 0
	for {
		n, err := io.ReadFull(src, buf[keep:])
		chunk := buf[:keep+n]
		for _, m := range goMarkers {
			if !found[m.use] && bytes.Contains(chunk, []byte(m.prefix)) {
				found[m.use] = true
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, err
		}
		keep = min(overlap, len(chunk))
		copy(buf, chunk[len(chunk)-keep:])
	}
	var out []string
	for _, m := range goMarkers {
		if found[m.use] {
			out = append(out, m.use)
		}
	}
	return out, nil
}
