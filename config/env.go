package config

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// expandTree replaces ${VAR} in every scalar value (not in keys) of the
// tree under n, and returns an error for each unset variable. Aliases are
// not followed: their anchors are expanded where they are defined.
func expandTree(n *yaml.Node, env map[string]string, errs *[]string, depth int) {
	if n == nil || depth > 10000 {
		return
	}
	switch n.Kind {
	case yaml.ScalarNode:
		v, err := expand(n.Value, env)
		if err != nil {
			*errs = append(*errs, fmt.Sprintf("line %d: %v", n.Line, err))
			return
		}
		if v != n.Value {
			n.Value = v
			if n.Style == 0 {
				// Resolved again from the new text, as if written there: a
				// string field still gets the text (1.10 stays "1.10"), a
				// number field its number.
				n.Tag = ""
			}
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			expandTree(n.Content[i], env, errs, depth+1)
		}
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			expandTree(c, env, errs, depth+1)
		}
	}
}

// expand replaces ${NAME} with env[NAME] and ${NAME:-default} with the
// value or, if it is unset or empty, default; $$ is a literal $. An unset
// ${NAME} is an error: a release script must not push to "registry/:".
func expand(s string, env map[string]string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '{':
		default:
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("%q: ${ without a closing }", s)
		}
		expr := s[i+2 : i+end]
		name, def, hasDef := strings.Cut(expr, ":-")
		if !validName(name) {
			return "", fmt.Errorf("%q: ${%s} is not a variable (names are letters, digits and _; write $$ for a literal $)", s, expr)
		}
		v, ok := env[name]
		switch {
		case hasDef && v == "":
			v = def
		case !ok:
			return "", fmt.Errorf("${%s} is not set: export %s, or write ${%s:-default}", name, name, name)
		}
		b.WriteString(v)
		i += end
	}
	return b.String(), nil
}

func validName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
