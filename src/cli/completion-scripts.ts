// The shell side of completion: small scripts that hand the words typed so far to
// `kubectl-cairn __complete` and offer what it answers (see completion.ts for the answer's
// format, Cobra's, which kubectl also speaks to plugins through kubectl_complete-cairn).

const BASH = `# bash completion for kubectl-cairn: source <(kubectl cairn completion bash)
_kubectl_cairn() {
  local out line
  out=$(kubectl-cairn __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return 0
  COMPREPLY=()
  while IFS= read -r line; do
    [[ -z $line || $line == :* ]] && continue
    COMPREPLY+=("\${line%%$'\\t'*}")
  done <<< "$out"
}
complete -F _kubectl_cairn kubectl-cairn
`;

const ZSH = `#compdef kubectl-cairn
# zsh completion for kubectl-cairn: source <(kubectl cairn completion zsh)
_kubectl_cairn() {
  local -a lines completions
  local line
  lines=("\${(@f)$(kubectl-cairn __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  for line in "\${lines[@]}"; do
    [[ -z $line || $line == :* ]] && continue
    completions+=("\${line/$'\\t'/:}")
  done
  _describe 'kubectl cairn' completions
}
if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then
  _kubectl_cairn "$@"
else
  compdef _kubectl_cairn kubectl-cairn
fi
`;

const FISH = `# fish completion for kubectl-cairn: kubectl cairn completion fish | source
function __kubectl_cairn_complete
    set -l words (commandline -opc)[2..-1] (commandline -ct)
    kubectl-cairn __complete $words 2>/dev/null | string match -v -r '^:'
end
complete -c kubectl-cairn -f -a '(__kubectl_cairn_complete)'
`;

export function completionScript(shell: "bash" | "zsh" | "fish"): string {
  return { bash: BASH, zsh: ZSH, fish: FISH }[shell];
}
