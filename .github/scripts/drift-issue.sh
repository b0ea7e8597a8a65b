#!/usr/bin/env bash
# Keep one GitHub issue per environment about drift.
#
#     drift-issue.sh ENV DRIFT_EXIT_CODE REPORT_FILE
#
# DRIFT_EXIT_CODE is what `twideploy drift` exited with:
#   2 (drift): comment the report on the open issue titled "Drift detected in ENV", or
#     open that issue with the report as its body;
#   0 (clean): if such an issue is open, say so on it and close it;
#   anything else: an error; nothing is touched and this script fails.
# Needs GH_TOKEN (issues: write) and GITHUB_REPOSITORY. DRIFT_LABEL, when set, labels a
# new issue (the label must exist). Secret values are redacted from what is posted.
# Writes issue-number and action (created|commented|closed|none) to $GITHUB_OUTPUT.
set -euo pipefail

if [ $# -ne 3 ]; then
  echo "usage: drift-issue.sh ENV DRIFT_EXIT_CODE REPORT_FILE" >&2
  exit 2
fi
env_name="$1"
drift_code="$2"
report="$3"
: "${GITHUB_REPOSITORY:?GITHUB_REPOSITORY is not set}"
if [[ ! "$env_name" =~ ^[A-Za-z0-9_-]+$ ]]; then
  echo "drift-issue: invalid environment name '$env_name'" >&2
  exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="$(command -v python3 || command -v python)"
ci() { "$python" "$here/twideploy_ci.py" "$@"; }

case "$drift_code" in
  0|2) ;;
  *) echo "drift-issue: twideploy drift failed for $env_name (exit $drift_code); not touching issues" >&2
     exit 1 ;;
esac

title="Drift detected in $env_name"
repo=(--repo "$GITHUB_REPOSITORY")
run_line=""
if [ -n "${GITHUB_RUN_ID:-}" ]; then
  run_line="Found by [workflow run $GITHUB_RUN_ID](${GITHUB_SERVER_URL:-https://github.com}/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID)."
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
body="$work/body.md"

number="$(gh issue list "${repo[@]}" --state open --search "\"$title\" in:title" --limit 100 --json number,title \
  | ci find-issue "$title" || true)"

action=none
if [ "$drift_code" = 2 ]; then
  [ -f "$report" ] || { echo "drift-issue: no such file: $report" >&2; exit 2; }
  {
    cat "$report"
    if [ -n "$run_line" ]; then echo; echo "$run_line"; fi
    echo
    echo "Bring the account back with \`twideploy apply --env $env_name\`, or adopt the live change into the manifests with \`twideploy export --env $env_name\`."
  } > "$body"
  ci redact "$body"
  ci truncate "$body" 65000 "_The drift report is too long for an issue; the full report is in the workflow run's summary._"
  if [ -n "$number" ]; then
    gh issue comment "$number" "${repo[@]}" --body-file "$body" > /dev/null
    action=commented
    echo "Commented on #$number: $title"
  else
    labels=()
    [ -n "${DRIFT_LABEL:-}" ] && labels=(--label "$DRIFT_LABEL")
    url="$(gh issue create "${repo[@]}" --title "$title" --body-file "$body" "${labels[@]}")"
    number="${url##*/}"
    action=created
    echo "Opened $url: $title"
  fi
elif [ -n "$number" ]; then
  {
    echo "No drift in \`$env_name\` any more: the live account matches the last apply."
    if [ -n "$run_line" ]; then echo; echo "$run_line"; fi
  } > "$body"
  gh issue comment "$number" "${repo[@]}" --body-file "$body" > /dev/null
  gh issue close "$number" "${repo[@]}" > /dev/null
  action=closed
  echo "Closed #$number: $title"
else
  echo "No drift in $env_name and no open drift issue."
fi

if [ -n "${GITHUB_OUTPUT:-}" ]; then
  {
    echo "issue-number=$number"
    echo "action=$action"
  } >> "$GITHUB_OUTPUT"
fi
