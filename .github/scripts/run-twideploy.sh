#!/usr/bin/env bash
# Run one twideploy command the way CI needs it.
#
#     run-twideploy.sh COMMAND [ARGS...]        e.g. run-twideploy.sh plan --env staging --format markdown --detailed-exitcode
#
# * stdout of twideploy is kept in a file (the summary file) and echoed to the log;
# * that file is appended to $GITHUB_STEP_SUMMARY: as is when it is markdown, in a code
#   block otherwise; on failure twideploy's error output is added below it;
# * secret values (see twideploy_ci.py redact) are replaced by *** in the summary file
#   before it goes anywhere: step summaries and PR comments are not masked by GitHub;
# * step outputs in $GITHUB_OUTPUT: exit-code, has-changes (true|false), summary-file;
# * exit status: 0 when twideploy exited 0, or 2 for "changes present / drift" from
#   `plan --detailed-exitcode` and `drift`; otherwise twideploy's own exit code. An exit 2
#   with nothing on stdout is click's usage error, not changes, and fails.
#
# TWIDEPLOY (default: twideploy) is the program to run; TWIDEPLOY_SUMMARY_DIR (default:
# $RUNNER_TEMP) where the summary file is written.
set -uo pipefail

if [ $# -lt 1 ]; then
  echo "usage: run-twideploy.sh COMMAND [ARGS...]" >&2
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="$(command -v python3 || command -v python)"
command="$1"
twideploy="${TWIDEPLOY:-twideploy}"

env_name=""
markdown=false
prev=""
for arg in "$@"; do
  case "$prev" in
    --env) env_name="$arg" ;;
    --format) [ "$arg" = markdown ] && markdown=true ;;
  esac
  case "$arg" in
    --env=*) env_name="${arg#--env=}" ;;
    --format=markdown) markdown=true ;;
  esac
  prev="$arg"
done

dir="${TWIDEPLOY_SUMMARY_DIR:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}}"
mkdir -p "$dir"
summary_file="$(mktemp "$dir/twideploy-$command${env_name:+-$env_name}-XXXXXX.md")"
stderr_file="$(mktemp "$dir/twideploy-stderr-XXXXXX")"
trap 'rm -f "$stderr_file"' EXIT

echo "+ twideploy $*" >&2
"$twideploy" "$@" > "$summary_file" 2> "$stderr_file"
code=$?
cat "$stderr_file" >&2
"$python" "$here/twideploy_ci.py" redact "$summary_file"
"$python" "$here/twideploy_ci.py" redact "$stderr_file"
cat "$summary_file"

has_changes=false
status=$code
if [ "$code" -eq 2 ]; then
  case "$command" in
    plan|drift)
      if [ -s "$summary_file" ]; then
        has_changes=true
        status=0
      fi
      ;;
  esac
fi

if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  {
    if [ -s "$summary_file" ]; then
      if $markdown || head -c 4 "$summary_file" | grep -q '^<!--'; then
        cat "$summary_file"
      else
        echo "#### twideploy $command${env_name:+ ($env_name)}"
        echo
        echo '```text'
        cat "$summary_file"
        echo '```'
      fi
      echo
    fi
    if [ "$status" -ne 0 ]; then
      echo "#### :x: twideploy $command${env_name:+ ($env_name)} failed (exit $code)"
      echo
      echo '```text'
      tail -n 100 "$stderr_file"
      echo '```'
      echo
    fi
  } >> "$GITHUB_STEP_SUMMARY"
fi

if [ -n "${GITHUB_OUTPUT:-}" ]; then
  {
    echo "exit-code=$code"
    echo "has-changes=$has_changes"
    echo "summary-file=$summary_file"
  } >> "$GITHUB_OUTPUT"
fi

exit "$status"
