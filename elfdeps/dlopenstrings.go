package elfdeps

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"path"
	"strings"
)

// rodataChunk is how much of .rodata is scanned at a time.
const rodataChunk = 4 << 20

// rodataChunks calls fn with f's .rodata (up to maxRodata bytes) in pieces
// of at most rodataChunk bytes that end at a NUL, so that no C string is
// split between two; the buffer is reused between calls. Reading the whole
// section at once cost node (47 MB of .rodata) a quarter of a second in
// page faults alone.
func rodataChunks(f *elf.File, fn func([]byte)) {
	defer func() { recover() }() // debug/elf on hostile section headers
	s := f.Section(".rodata")
	if s == nil || s.Type == elf.SHT_NOBITS || s.Flags&elf.SHF_COMPRESSED != 0 || s.Size == 0 || s.Size > maxRodata {
		return
	}
	chunksAtNUL(io.NewSectionReader(s, 0, int64(s.Size)), make([]byte, min(s.Size, rodataChunk)), fn)
}

// chunksAtNUL calls fn with all of r in pieces of at most len(buf) bytes
// that end at a NUL where one is near the end of the buffer.
func chunksAtNUL(r io.Reader, buf []byte, fn func([]byte)) {
	carry := 0 // bytes of an unfinished string kept at the start of buf
	for {
		n, err := io.ReadFull(r, buf[carry:])
		end := carry + n
		if err != nil { // the last piece
			if end > 0 {
				fn(buf[:end])
			}
			return
		}
		cut := bytes.LastIndexByte(buf[:end], 0) + 1
		if cut == 0 || end-cut > len(buf)/2 { // no NUL worth cutting at: take it all
			cut = end
		}
		fn(buf[:cut])
		carry = copy(buf, buf[cut:end])
	}
}

func used(imports map[string]bool, funcs []string) []string {
	var out []string
	for _, f := range funcs {
		if imports[f] {
			out = append(out, f)
		}
	}
	return out
}

// names reports the library names and paths in an object's strings: a
// whole C string (NUL before and after) that is a file name starting with
// lib and ending in .so[.N...], or an absolute path that ends so or has a
// plugins directory. Words inside sentences and Go's strings, which are laid
// end to end without NULs, are not names given to dlopen.
func (h *hinter) names(obj string, rodata []byte) {
	self := path.Base(obj)
	words(rodata, func(w string, whole bool) {
		if !whole || len(w) > maxHintName {
			return
		}
		w, ok := pattern(w)
		if !ok || !soEnd.MatchString(w) && !strings.HasPrefix(w, "/") {
			return
		}
		switch {
		case strings.HasPrefix(w, "/"):
			plugin := strings.Contains(w, "/plugins/") || strings.HasSuffix(w, "/plugins")
			if strings.Count(w, "/") < 2 || strings.Contains(w, "//") || !soEnd.MatchString(w) && !plugin || h.have[w] || h.have[path.Base(w)] {
				return
			}
			hint := DlopenHint{Name: w, FoundIn: []string{obj}, Reason: fmt.Sprintf("a path in the strings of %s, which calls dlopen", obj)}
			if _, err := h.root.Stat(w); err == nil && !strings.Contains(w, "*") {
				hint.Path = w
			}
			h.add(hint)
		case strings.HasPrefix(w, "lib") && !strings.Contains(w, "/") && len(w) > len("lib.so"):
			if h.have[w] || w == self || ignoredName(w) {
				return
			}
			h.add(h.located(DlopenHint{Name: w, FoundIn: []string{obj},
				Reason: fmt.Sprintf("named in the strings of %s, which calls dlopen", obj)}))
		}
	})
}

// words calls fn with each run of name and path characters in b that holds
// ".so" or "/plugins", once each, and whether it is a whole C string: at
// the start of b or after a NUL, and at the end of b or before one.
func words(b []byte, fn func(w string, whole bool)) {
	seen := -1 // the end of the last word
	for _, needle := range [][]byte{[]byte(".so"), []byte("/plugins")} {
		seen = -1
		for i := 0; i < len(b); {
			j := bytes.Index(b[i:], needle)
			if j < 0 {
				break
			}
			at := i + j
			start, end := at, at+len(needle)
			for start > 0 && isWordByte(b[start-1]) {
				start--
			}
			for end < len(b) && isWordByte(b[end]) {
				end++
			}
			if start >= seen {
				whole := (start == 0 || b[start-1] == 0) && (end == len(b) || b[end] == 0)
				fn(string(b[start:end]), whole)
				seen = end
			}
			i = end
		}
	}
}

// isWordByte is a byte of a file name or path, or of a printf verb in one.
func isWordByte(c byte) bool {
	return isNameByte(c) || c == '.' || c == '/' || c == '%' || c == '@'
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '+' || c == '-'
}

// pattern turns the one %s of a printf pattern into "*"; ok is false for
// other patterns: numbers (%d) make file names (node's libv8-%d.%d.%d%s.so),
// not plugins, and several verbs or a short fixed part are too vague to use.
func pattern(s string) (string, bool) {
	if !strings.Contains(s, "%") {
		return s, true
	}
	if verbs := verbRE.FindAllString(s, -1); len(verbs) != 1 || verbs[0] != "%s" {
		return "", false
	}
	p := strings.Replace(s, "%s", "*", 1)
	if strings.Contains(p, "%") {
		return "", false
	}
	fixed := strings.NewReplacer("*", "", "lib", "", ".so", "", "/", "").Replace(p)
	return p, len(fixed) >= 3
}

// ignoredName are names in strings that are not libraries to bundle: the
// loader, the kernel's vDSO.
func ignoredName(n string) bool {
	return strings.HasPrefix(n, "ld-linux") || strings.HasPrefix(n, "ld-musl") || strings.HasPrefix(n, "linux-vdso") ||
		strings.HasPrefix(n, "linux-gate") || n == "libc.so" || n == "lib.so"
}
