package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readmeExample is one command line of the tool in a code block of README.md.
type readmeExample struct {
	// line is the 1-based line of README.md where the command starts.
	line int
	// text is the command as written, without a "$ " prompt; lines continued
	// with a trailing backslash are joined with their newlines kept.
	text string
	// output holds the lines README shows after a "$ " command, up to the
	// next prompt or the end of the block; nil for commands without a prompt.
	output []string
}

// codeBlock is a fenced or indented code block of a Markdown document.
type codeBlock struct {
	// line is the 1-based line of the block's first content line.
	line int
	// info is a fenced block's info string ("yaml"), empty otherwise.
	info string
	// lines are the block's lines, without the indentation of an indented block.
	lines []string
}

// fenceRE matches the opening or closing line of a fenced code block.
var fenceRE = regexp.MustCompile("^ {0,3}(```+|~~~+)\\s*([^`\\s]*)")

// codeBlocks returns the code blocks of a Markdown document, in order:
// fenced ones (``` or ~~~) and indented ones (four spaces or a tab, after a
// blank line, since an indented line cannot interrupt a paragraph).
func codeBlocks(md string) []codeBlock {
	var (
		blocks   []codeBlock
		cur      *codeBlock
		fence    string // the open fence's marker, while in a fenced block
		prevLine = ""
	)
	flush := func() {
		if cur != nil {
			for len(cur.lines) > 0 && strings.TrimSpace(cur.lines[len(cur.lines)-1]) == "" {
				cur.lines = cur.lines[:len(cur.lines)-1]
			}
			blocks = append(blocks, *cur)
			cur = nil
		}
	}
	for i, l := range strings.Split(md, "\n") {
		n := i + 1
		switch {
		case fence != "":
			if m := fenceRE.FindStringSubmatch(l); m != nil && strings.HasPrefix(m[1], fence) && m[2] == "" {
				flush()
				fence = ""
			} else {
				cur.lines = append(cur.lines, l)
			}
		case fenceRE.MatchString(l):
			flush()
			m := fenceRE.FindStringSubmatch(l)
			fence = m[1]
			cur = &codeBlock{line: n + 1, info: m[2]}
		case cur != nil && strings.TrimSpace(l) == "":
			cur.lines = append(cur.lines, "") // a blank line may be inside an indented block
		case indented(l) && (cur != nil || strings.TrimSpace(prevLine) == ""):
			if cur == nil {
				cur = &codeBlock{line: n}
			}
			cur.lines = append(cur.lines, unindent(l))
		default:
			flush()
		}
		prevLine = l
	}
	flush()
	return blocks
}

// indented reports whether a line starts an indented code block's line.
func indented(l string) bool {
	return strings.HasPrefix(l, "    ") || strings.HasPrefix(l, "\t")
}

// unindent removes one level of code block indentation.
func unindent(l string) string {
	if strings.HasPrefix(l, "\t") {
		return l[1:]
	}
	return l[4:]
}

// toolCommandRE matches a command line that runs the tool: bin/scratchpack,
// maybe after environment assignments (REGISTRY=... VERSION=...) or inside
// "source <(...)".
var toolCommandRE = regexp.MustCompile(`^(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*(?:source <\()?bin/scratchpack(?:\s|\)|$)`)

// promptPrefix starts a command line that README follows with its output.
const promptPrefix = "$ "

// parseREADMEExamples returns the command lines of the tool in README's
// code blocks, in order. In a block with "$ " prompts only the prompted
// lines are commands, and the lines after each are its output.
func parseREADMEExamples(md string) []readmeExample {
	var examples []readmeExample
	for _, b := range codeBlocks(md) {
		examples = append(examples, blockExamples(b)...)
	}
	return examples
}

// blockExamples returns the tool's command lines of one code block.
func blockExamples(b codeBlock) []readmeExample {
	prompted := false
	for _, l := range b.lines {
		if strings.HasPrefix(l, promptPrefix) {
			prompted = true
		}
	}
	var examples []readmeExample
	for i := 0; i < len(b.lines); i++ {
		text := b.lines[i]
		if prompted {
			if !strings.HasPrefix(text, promptPrefix) {
				continue
			}
			text = strings.TrimPrefix(text, promptPrefix)
		}
		if !toolCommandRE.MatchString(text) {
			continue
		}
		ex := readmeExample{line: b.line + i}
		for strings.HasSuffix(strings.TrimRight(text, " "), `\`) && i+1 < len(b.lines) {
			i++
			text += "\n" + b.lines[i]
		}
		ex.text = text
		if prompted {
			ex.output = []string{}
			for i+1 < len(b.lines) && !strings.HasPrefix(b.lines[i+1], promptPrefix) {
				i++
				ex.output = append(ex.output, b.lines[i])
			}
		}
		examples = append(examples, ex)
	}
	return examples
}

// TestParseREADMEExamples: the parser finds what README's examples look
// like, and nothing else.
func TestParseREADMEExamples(t *testing.T) {
	for _, tc := range []struct {
		name string
		md   string
		want []readmeExample
	}{
		{
			name: "indented block",
			md:   "Make it:\n\n    bin/scratchpack pack -o oci:out ./app   # comment\n    make demo\n\nText.\n",
			want: []readmeExample{{line: 3, text: "bin/scratchpack pack -o oci:out ./app   # comment"}},
		},
		{
			name: "indented line in a paragraph is not code",
			md:   "Text\n    bin/scratchpack inspect x\n",
			want: nil,
		},
		{
			name: "continuation lines",
			md:   "\n    bin/scratchpack pack \\\n        --platform a \\\n        -o b\n    bin/scratchpack ls b\n",
			want: []readmeExample{
				{line: 2, text: "bin/scratchpack pack \\\n    --platform a \\\n    -o b"},
				{line: 5, text: "bin/scratchpack ls b"},
			},
		},
		{
			name: "prompts and output",
			md:   "\n    $ bin/scratchpack inspect x\n    x: dynamic\n    ...\n    $ bin/scratchpack inspect y\n\nafter\n",
			want: []readmeExample{
				{line: 2, text: "bin/scratchpack inspect x", output: []string{"x: dynamic", "..."}},
				{line: 5, text: "bin/scratchpack inspect y", output: []string{}},
			},
		},
		{
			name: "environment, source and &&",
			md:   "\n    REGISTRY=r VERSION=1 bin/scratchpack build\n    source <(bin/scratchpack completion bash)\n    bin/scratchpack pack ./app && docker run app\n    docker run app\n",
			want: []readmeExample{
				{line: 2, text: "REGISTRY=r VERSION=1 bin/scratchpack build"},
				{line: 3, text: "source <(bin/scratchpack completion bash)"},
				{line: 4, text: "bin/scratchpack pack ./app && docker run app"},
			},
		},
		{
			name: "fenced blocks",
			md:   "Text\n```sh\nbin/scratchpack --version\n```\n```yaml\nprogram: bin/scratchpack\n```\n",
			want: []readmeExample{{line: 3, text: "bin/scratchpack --version"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseREADMEExamples(tc.md)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(readmeExample{})); diff != "" {
				t.Errorf("parseREADMEExamples (-want +got):\n%s", diff)
			}
		})
	}
}
