package elfdeps

import (
	"path"
	"strings"
)

// expandAll expands the dynamic string tokens of a list of search directories
// of object n. Entries that cannot be expanded are dropped, as glibc does.
func (r *resolver) expandAll(dirs []string, n *node) []dirPair {
	var out []dirPair
	for _, d := range dirs {
		out = append(out, r.expand(d, n)...)
	}
	return out
}

// expand replaces $ORIGIN, $LIB and $PLATFORM (also in ${...} form) in s.
// $ORIGIN is the directory of object n; it expands differently in the image
// and in the root when the program moves (see WithOrigin). Relative results
// are taken from the root directory, as a loader started in / would.
func (r *resolver) expand(s string, n *node) []dirPair {
	img, src := s, s
	if strings.Contains(s, "$") {
		lib := "lib/" + r.arch.triplet
		if !r.multiarch() && r.arch.lib64 {
			lib = "lib64"
		}
		for _, tok := range []struct{ name, val string }{{"LIB", lib}, {"PLATFORM", r.arch.platform}} {
			img = replaceToken(img, tok.name, tok.val)
			src = replaceToken(src, tok.name, tok.val)
		}
		if hasToken(s, "ORIGIN") {
			if !n.hasOrg {
				r.closure.Warnings = append(r.closure.Warnings,
					"$ORIGIN in "+n.name+" cannot be expanded: where the program lives is unknown (is it outside the sysroot?)")
				return nil
			}
			img = replaceToken(img, "ORIGIN", n.origin.img)
			src = replaceToken(src, "ORIGIN", n.origin.src)
		}
	}
	return []dirPair{{img: path.Clean("/" + img), src: path.Clean("/" + src)}}
}

func hasToken(s, name string) bool {
	return replaceToken(s, name, "\x00") != s
}

// replaceToken replaces $NAME and ${NAME} with val. $NAME must end at a
// character that cannot continue a name, as in glibc's is_dst.
func replaceToken(s, name, val string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		rest := s[i+1:]
		switch {
		case strings.HasPrefix(rest, "{"+name+"}"):
			b.WriteString(val)
			s = rest[len(name)+2:]
		case strings.HasPrefix(rest, name) && (len(rest) == len(name) || !isNameChar(rest[len(name)])):
			b.WriteString(val)
			s = rest[len(name):]
		default:
			b.WriteByte('$')
			s = rest
		}
	}
}

func isNameChar(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
