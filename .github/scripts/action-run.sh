#!/usr/bin/env bash
# The composite action's main step (action.yml): turn its inputs into a twideploy command
# line and run it with run-twideploy.sh.
#
#   INPUT_COMMAND      validate | plan | apply | drift | promote
#   INPUT_ENVIRONMENT  the environment (--env; for promote: --to), may be empty
#   INPUT_ARGS         more arguments, split like a shell would (quotes work; nothing is
#                      expanded or executed)
#
# plan gets --format markdown --detailed-exitcode, drift and promote --format markdown,
# apply and promote --auto-approve, unless INPUT_ARGS already says otherwise.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="$(command -v python3 || command -v python)"
command="${INPUT_COMMAND:-}"
environment="${INPUT_ENVIRONMENT:-}"

extra=()
if [ -n "${INPUT_ARGS:-}" ]; then
  # shlex splits like a shell without expanding anything; NUL-separated so any argument survives.
  while IFS= read -r -d '' arg; do extra+=("$arg"); done < <(
    "$python" -c 'import shlex, sys; sys.stdout.write("".join(a + "\0" for a in shlex.split(sys.argv[1])))' "$INPUT_ARGS")
fi

has() {  # has OPTION: is OPTION (or OPTION=...) among the extra arguments?
  local a
  for a in "${extra[@]+"${extra[@]}"}"; do
    [ "$a" = "$1" ] || [[ "$a" == "$1="* ]] && return 0
  done
  return 1
}

args=("$command")
case "$command" in
  validate)
    [ -n "$environment" ] && args+=(--env "$environment") ;;
  plan)
    [ -n "$environment" ] && args+=(--env "$environment")
    has --format || args+=(--format markdown)
    has --detailed-exitcode || args+=(--detailed-exitcode) ;;
  apply)
    [ -n "$environment" ] && args+=(--env "$environment")
    has --auto-approve || args+=(--auto-approve) ;;
  drift)
    [ -n "$environment" ] && args+=(--env "$environment")
    has --format || args+=(--format markdown) ;;
  promote)
    [ -n "$environment" ] && ! has --to && args+=(--to "$environment")
    has --auto-approve || args+=(--auto-approve)
    has --format || args+=(--format markdown) ;;
  *)
    echo "::error::twideploy action: command must be validate, plan, apply, drift or promote, not '$command'"
    exit 2 ;;
esac
args+=("${extra[@]+"${extra[@]}"}")

exec "$here/run-twideploy.sh" "${args[@]}"
