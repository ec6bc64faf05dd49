package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"
)

// The scripts ask scratchpack itself for the words that may come next
// (urfave/cli's --generate-bash-completion), so they never go stale.
const bashCompletion = `# bash completion for scratchpack; load with: source <(scratchpack completion bash)
_scratchpack_complete() {
  local cur words cword
  if declare -F _init_completion >/dev/null 2>&1; then
    _init_completion -n "=:" || return
  else
    cur="${COMP_WORDS[COMP_CWORD]}"; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD
  fi
  local request=("${words[@]:0:$cword}")
  [[ "$cur" == -* ]] && request+=("$cur")
  local opts
  opts=$("${request[@]}" --generate-bash-completion 2>/dev/null)
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
}
complete -o bashdefault -o default -o nospace -F _scratchpack_complete scratchpack
`

const zshCompletion = `#compdef scratchpack
# zsh completion for scratchpack; load with: source <(scratchpack completion zsh)
_scratchpack() {
  local -a opts
  local cur=${words[-1]}
  if [[ "$cur" == -* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _scratchpack scratchpack
`

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:        "completion",
		Usage:       "print a shell completion script",
		ArgsUsage:   "bash|zsh|fish",
		Description: helpText("completion"),
		Action: func(c *cli.Context) error {
			args := operands(c)
			if len(args) != 1 {
				return withCode(exitBadInput, errors.New("completion needs one SHELL: bash, zsh or fish"))
			}
			var script string
			switch shell := args[0]; shell {
			case "bash":
				script = bashCompletion
			case "zsh":
				script = zshCompletion
			case "fish":
				s, err := c.App.ToFishCompletion()
				if err != nil {
					return err
				}
				script = s
			default:
				return withCode(exitBadInput, fmt.Errorf("completion %q: want bash, zsh or fish", shell))
			}
			_, err := fmt.Fprint(c.App.Writer, script)
			return err
		},
	}
}
