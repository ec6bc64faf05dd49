package elfdeps

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestReplaceToken(t *testing.T) {
	tests := []struct {
		name, s, token, val, want string
	}{
		{"bare", "$ORIGIN/../lib", "ORIGIN", "/app/bin", "/app/bin/../lib"},
		{"braced", "${ORIGIN}/../lib", "ORIGIN", "/app/bin", "/app/bin/../lib"},
		{"alone", "$ORIGIN", "ORIGIN", "/app", "/app"},
		{"braced alone", "${ORIGIN}", "ORIGIN", "/app", "/app"},
		{"twice", "$ORIGIN:${ORIGIN}/lib", "ORIGIN", "/a", "/a:/a/lib"},
		{"followed by a letter", "$ORIGINX/lib", "ORIGIN", "/a", "$ORIGINX/lib"},
		{"followed by a digit", "$ORIGIN2", "ORIGIN", "/a", "$ORIGIN2"},
		{"followed by underscore", "$ORIGIN_X", "ORIGIN", "/a", "$ORIGIN_X"},
		{"braced then letters", "${ORIGIN}X", "ORIGIN", "/a", "/aX"},
		{"followed by a dot", "$ORIGIN.d", "ORIGIN", "/a", "/a.d"},
		{"followed by a dash", "$ORIGIN-x", "ORIGIN", "/a", "/a-x"},
		{"unclosed brace", "${ORIGIN/lib", "ORIGIN", "/a", "${ORIGIN/lib"},
		{"lower case", "$origin/lib", "ORIGIN", "/a", "$origin/lib"},
		{"other token left alone", "$LIB/$ORIGIN", "ORIGIN", "/a", "$LIB//a"},
		{"dollar at the end", "/lib/$", "ORIGIN", "/a", "/lib/$"},
		{"double dollar", "$$ORIGIN", "ORIGIN", "/a", "$/a"},
		{"no token", "/usr/lib", "ORIGIN", "/a", "/usr/lib"},
		{"empty", "", "ORIGIN", "/a", ""},
		{"LIB", "/opt/$LIB/x", "LIB", "lib/x86_64-linux-gnu", "/opt/lib/x86_64-linux-gnu/x"},
		{"LIB braced", "/opt/${LIB}x", "LIB", "lib64", "/opt/lib64x"},
		{"LIBX is not LIB", "/opt/$LIBX", "LIB", "lib64", "/opt/$LIBX"},
		{"PLATFORM", "/opt/$PLATFORM/lib", "PLATFORM", "x86_64", "/opt/x86_64/lib"},
		{"PLATFORM braced", "/opt/${PLATFORM}", "PLATFORM", "aarch64", "/opt/aarch64"},
		{"PLATFORMS is not PLATFORM", "/opt/$PLATFORMS", "PLATFORM", "aarch64", "/opt/$PLATFORMS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := replaceToken(tc.s, tc.token, tc.val); got != tc.want {
				t.Errorf("replaceToken(%q, %q, %q) = %q, want %q", tc.s, tc.token, tc.val, got, tc.want)
			}
		})
	}
}

// TestExpand checks what $LIB, $PLATFORM and $ORIGIN become for a search
// directory, on a multiarch (Debian) root and a lib64 (Fedora-style) one.
func TestExpand(t *testing.T) {
	debian := NewRoot(fstest.MapFS{"usr/lib/x86_64-linux-gnu/libc.so.6": regular("")}, "debian")
	fedora := NewRoot(fstest.MapFS{"usr/lib64/libc.so.6": regular("")}, "fedora")
	arm := NewRoot(fstest.MapFS{"lib/libc.so.6": regular("")}, "sysroot")
	amd64, _ := archFor(&object{machine: 62, class: 2, data: 1})  // EM_X86_64, ELFCLASS64, ELFDATA2LSB
	arm64, _ := archFor(&object{machine: 183, class: 2, data: 1}) // EM_AARCH64
	withOrigin := &node{name: "/app/bin/prog", obj: &object{}, origin: dirPair{img: "/app/bin", src: "/build/out/bin"}, hasOrg: true}
	noOrigin := &node{name: "prog", obj: &object{}}
	tests := []struct {
		name     string
		root     *Root
		arch     arch
		n        *node
		dir      string
		want     []dirPair
		warnings int
	}{
		{"LIB multiarch", debian, amd64, noOrigin, "/opt/$LIB", []dirPair{{"/opt/lib/x86_64-linux-gnu", "/opt/lib/x86_64-linux-gnu"}}, 0},
		{"LIB lib64", fedora, amd64, noOrigin, "/opt/${LIB}", []dirPair{{"/opt/lib64", "/opt/lib64"}}, 0},
		{"LIB sysroot arm64", arm, arm64, noOrigin, "/opt/$LIB", []dirPair{{"/opt/lib64", "/opt/lib64"}}, 0},
		{"PLATFORM", debian, amd64, noOrigin, "/opt/$PLATFORM", []dirPair{{"/opt/x86_64", "/opt/x86_64"}}, 0},
		{"PLATFORM arm64", arm, arm64, noOrigin, "/opt/$PLATFORM", []dirPair{{"/opt/aarch64", "/opt/aarch64"}}, 0},
		{"ORIGIN moves with the program", debian, amd64, withOrigin, "$ORIGIN/../lib", []dirPair{{"/app/lib", "/build/out/lib"}}, 0},
		{"ORIGIN and LIB", debian, amd64, withOrigin, "${ORIGIN}/../$LIB", []dirPair{{"/app/lib/x86_64-linux-gnu", "/build/out/lib/x86_64-linux-gnu"}}, 0},
		{"ORIGIN unknown", debian, amd64, noOrigin, "$ORIGIN/../lib", nil, 1},
		{"ORIGINX is no token", debian, amd64, noOrigin, "/x/$ORIGINX", []dirPair{{"/x/$ORIGINX", "/x/$ORIGINX"}}, 0},
		{"relative is from the root", debian, amd64, noOrigin, "lib/../opt", []dirPair{{"/opt", "/opt"}}, 0},
		{"plain", debian, amd64, noOrigin, "/usr/local/lib/", []dirPair{{"/usr/local/lib", "/usr/local/lib"}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &resolver{root: tc.root, arch: tc.arch, closure: &Closure{}}
			got := r.expand(tc.dir, tc.n)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(dirPair{})); diff != "" {
				t.Errorf("expand(%q) mismatch (-want +got):\n%s", tc.dir, diff)
			}
			if len(r.closure.Warnings) != tc.warnings {
				t.Errorf("warnings = %q, want %d", r.closure.Warnings, tc.warnings)
			}
			for _, w := range r.closure.Warnings {
				if !strings.Contains(w, "$ORIGIN") {
					t.Errorf("warning %q does not say what could not be expanded", w)
				}
			}
		})
	}
}
