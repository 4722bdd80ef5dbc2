#!/usr/bin/env bash
# The README's front-door commands, run by .ci/run after the tests, from the clean clone CI
# checks out: the demo (which must exit 0), the demo kept running, the test bed's up, status and
# down, the build, and the field reference. Each counts as one check in .reports/front-door.json,
# which .ci/summary.mjs adds to the closing line. test/unit/docs/readme-commands.test.ts holds
# the README to the commands this script (or a test) runs.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
failures=()
check() { # check <what> <command...>
  local what=$1
  shift
  echo "ci: front door: $what"
  if "$@"; then
    passed=$((passed + 1))
  else
    echo "ci: front door FAILED: $what"
    failed=$((failed + 1))
    failures+=("$what")
  fi
}

# --keep: the cluster stays up, Cairn runs in it, and the last line is export KUBECONFIG=<path>.
demo_keep() {
  local log last kubeconfig
  log=$(mktemp)
  npm run demo -- --keep | tee "$log" || return 1
  last=$(tail -n 1 "$log")
  rm -f "$log"
  kubeconfig=${last#export KUBECONFIG=}
  [ "$last" != "$kubeconfig" ] && [ -f "$kubeconfig" ] || {
    echo "ci: the last line is not export KUBECONFIG=<an existing file>: $last"
    return 1
  }
}

# status of the kept cluster reports every component running, Cairn included.
testbed_status() {
  local out
  out=$(npm run testbed -- status) || return 1
  echo "$out"
  grep -q "cairn .* running" <<<"$out"
}

fields_current() {
  npm run docs:fields && git diff --exit-code -- docs/fields.md
}

check "npm run demo" npm run demo
check "npm run demo -- --keep" demo_keep
check "npm run testbed -- status" testbed_status
check "npm run testbed -- down" npm run testbed -- down
check "npm run testbed -- up" npm run testbed -- up
check "npm run testbed -- down (after up)" npm run testbed -- down
check "npm run build" npm run build
check "npm run docs:fields" fields_current

mkdir -p .reports
list=""
for f in "${failures[@]}"; do list="${list:+$list, }\"$f\""; done
printf '{"passed": %d, "failed": %d, "failures": [%s]}\n' "$passed" "$failed" "$list" \
  >.reports/front-door.json
[ "$failed" -eq 0 ]
