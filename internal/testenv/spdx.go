package testenv

import (
	"os"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// SPDXSchema compiles the SPDX 2.3 JSON schema kept in the file (the
// repository's testdata/spdx/spdx-schema-v2.3.json, from a test's directory).
func SPDXSchema(t testing.TB, file string) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(file, s); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(file)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}
