package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	writeFileMode(t, path, content, 0o644)
}

func writeFileMode(t testing.TB, path, content string, perm os.FileMode) {
	t.Helper()
	err := os.WriteFile(path, []byte(content), perm)
	if err == nil {
		err = os.Chmod(path, perm) // not subject to umask
	}
	if err != nil {
		t.Fatalf("writing %s: %v", path, err)
	}
}

// exitDetail adds a failed command's stderr to its error.
func exitDetail(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
	}
	return err
}
