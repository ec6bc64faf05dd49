package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{
		"bash": "complete -o bashdefault -o default -o nospace -F _scratchpack_complete scratchpack",
		"zsh":  "compdef _scratchpack scratchpack",
		"fish": "complete -c scratchpack -n '__fish_seen_subcommand_from build' -f -l config",
	} {
		if out := mustRun(t, nil, "completion", shell); !strings.Contains(out, want) {
			t.Errorf("completion %s lacks %q:\n%s", shell, want, out)
		}
	}
	if _, _, code := run(t, nil, "completion", "tcsh"); code != exitBadInput {
		t.Errorf("completion tcsh: exit %d, want %d", code, exitBadInput)
	}
	// What the scripts ask for: the commands, then a command's flags.
	if out := mustRun(t, nil, "--generate-bash-completion"); !strings.Contains(out, "build") || !strings.Contains(out, "pull") {
		t.Errorf("command completion:\n%s", out)
	}
	if out := mustRun(t, nil, "build", "--co", "--generate-bash-completion"); !strings.Contains(out, "--config") {
		t.Errorf("flag completion of build:\n%s", out)
	}
}

// TestCompletionInBash loads the bash script into a real bash and asks it
// to complete "scratchpack bu".
func TestCompletionInBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("SKIP (component missing): bash")
	}
	script := filepath.Join(t.TempDir(), "c.bash")
	mustWrite(t, script, mustRun(t, nil, "completion", "bash"))
	cmd := exec.Command(bash, "--norc", "-c", `source "$1"; PATH="$2:$PATH"; COMP_WORDS=(scratchpack bu); COMP_CWORD=1; _scratchpack_complete; echo "${COMPREPLY[*]}"`,
		"bash", script, filepath.Dir(bin))
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "build" {
		t.Errorf("bash completion of \"scratchpack bu\": %q %v", out, err)
	}
}

func TestVersion(t *testing.T) {
	if out := mustRun(t, nil, "--version"); !strings.HasPrefix(out, "scratchpack version ") {
		t.Errorf("--version: %q", out)
	}
	for _, tc := range []struct {
		main     string
		settings []debug.BuildSetting
		want     string
	}{
		{"v1.2.3", nil, "v1.2.3"},
		{"(devel)", nil, "devel"},
		{"(devel)", []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef"}, {Key: "vcs.modified", Value: "true"}}, "devel (0123456789ab-dirty)"},
		{"v0.0.0-20260101000000-0123456789ab", []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef"}}, "v0.0.0-20260101000000-0123456789ab"},
	} {
		bi := &debug.BuildInfo{Main: debug.Module{Version: tc.main}, Settings: tc.settings}
		if got := versionOf(bi); got != tc.want {
			t.Errorf("versionOf(%s, %v) = %q, want %q", tc.main, tc.settings, got, tc.want)
		}
	}
}

func mustWrite(t *testing.T, file, s string) {
	t.Helper()
	if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
