package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Error is one problem in a configuration file, at a line of it.
type Error struct {
	File string
	Line int // 1-based; 0 when the YAML parser could not say
	Msg  string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Errors are all the problems found in a file, in the order of their lines.
type Errors []*Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// lineError is a problem found while decoding, in the "line N: msg" form of
// yaml.v3's errors, so that the decoder collects it with its own.
func lineError(n *yaml.Node, format string, args ...any) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, fmt.Sprintf(format, args...))}}
}

// joinErrors merges decoding errors into one yaml.TypeError (nil if none).
func joinErrors(errs ...error) error {
	var all []string
	for _, err := range errs {
		switch e := err.(type) {
		case nil:
		case *yaml.TypeError:
			all = append(all, e.Errors...)
		default:
			all = append(all, err.Error())
		}
	}
	if len(all) == 0 {
		return nil
	}
	return &yaml.TypeError{Errors: all}
}

var linePrefix = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:yaml: )?line (\d+): `)
})

// fileErrors turns a yaml.v3 error (a syntax error, or a TypeError holding
// "line N: ..." messages) into Errors naming file.
func fileErrors(file string, err error) Errors {
	var msgs []string
	if te, ok := err.(*yaml.TypeError); ok {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	var out Errors
	for _, m := range msgs {
		e := &Error{File: file, Msg: strings.TrimPrefix(m, "yaml: ")}
		if sm := linePrefix().FindStringSubmatch(m); sm != nil {
			e.Line, _ = strconv.Atoi(sm[1])
			e.Msg = m[len(sm[0]):]
		}
		out = append(out, e)
	}
	return out
}
