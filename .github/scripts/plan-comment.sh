#!/usr/bin/env bash
# Post a plan as a pull-request comment, or update the one posted before, in place.
#
#     plan-comment.sh ENV PLAN_MARKDOWN_FILE
#
# Needs GH_TOKEN (pull-requests: write), GITHUB_REPOSITORY and PR_NUMBER. One comment per
# environment: the comment starts with `<!-- twideploy-plan-env: ENV -->` and holds
# twideploy's own `<!-- twideploy-plan -->` marker; the first comment with both is PATCHed,
# otherwise a new one is POSTed. Secret values are redacted (GitHub does not mask comments)
# and the body is cut to GitHub's comment size limit. Writes comment-id to $GITHUB_OUTPUT.
#
# PLAN_EXIT_CODE (optional) is what the plan exited with: when it is not 0 or 2, or the plan
# file is empty, the comment says that the plan failed instead, so that a reviewer never
# reads a plan that an earlier push left behind as if it were current.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: plan-comment.sh ENV PLAN_MARKDOWN_FILE" >&2
  exit 2
fi
env_name="$1"
plan_file="$2"
: "${GITHUB_REPOSITORY:?GITHUB_REPOSITORY is not set}"
: "${PR_NUMBER:?PR_NUMBER is not set (github.event.pull_request.number)}"
if [[ ! "$env_name" =~ ^[A-Za-z0-9_-]+$ ]]; then
  echo "plan-comment: invalid environment name '$env_name'" >&2
  exit 2
fi
if [[ ! "$PR_NUMBER" =~ ^[0-9]+$ ]]; then
  echo "plan-comment: invalid PR_NUMBER '$PR_NUMBER'" >&2
  exit 2
fi
failed=""
case "${PLAN_EXIT_CODE:-0}" in
  0|2) [ -s "$plan_file" ] || failed="produced no plan" ;;
  *) failed="failed (exit ${PLAN_EXIT_CODE})" ;;
esac
if [ -z "$failed" ] && [ ! -f "$plan_file" ]; then
  echo "plan-comment: no such file: $plan_file" >&2
  exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="$(command -v python3 || command -v python)"
ci() { "$python" "$here/twideploy_ci.py" "$@"; }

PLAN_MARKER="<!-- twideploy-plan -->"
ENV_MARKER="<!-- twideploy-plan-env: $env_name -->"
COMMENT_LIMIT=65000  # GitHub refuses comment bodies over 65536 characters

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
body="$work/body.md"
{
  echo "$ENV_MARKER"
  if [ -n "$failed" ]; then
    echo "$PLAN_MARKER"
    echo "### twideploy plan: \`$env_name\`"
    echo
    echo ":x: **The plan $failed.** No plan is shown for this commit; the error is in the workflow run's log."
  elif grep -qF "$PLAN_MARKER" "$plan_file"; then
    cat "$plan_file"
  else
    echo "$PLAN_MARKER"
    echo "### twideploy plan: \`$env_name\`"
    echo
    cat "$plan_file"
  fi
  if [ -n "${GITHUB_RUN_ID:-}" ]; then
    run_url="${GITHUB_SERVER_URL:-https://github.com}/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID"
    echo
    echo "<sub>Updated by [workflow run $GITHUB_RUN_ID]($run_url)${HEAD_SHA:+ for commit $HEAD_SHA}.</sub>"
  fi
} > "$body"
ci redact "$body"
ci truncate "$body" "$COMMENT_LIMIT" \
  "_The plan is too long for a comment; the full plan is in the workflow run's summary._"
ci payload "$body" > "$work/payload.json"

comments="repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments"
existing="$(gh api --paginate "$comments?per_page=100" | ci find-comment "$ENV_MARKER" "$PLAN_MARKER" || true)"

if [ -n "$existing" ]; then
  gh api --method PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$existing" --input "$work/payload.json" > /dev/null
  comment_id="$existing"
  echo "Updated the plan comment $comment_id for $env_name on #$PR_NUMBER"
else
  comment_id="$(gh api --method POST "$comments" --input "$work/payload.json" --jq .id)"
  echo "Posted the plan comment $comment_id for $env_name on #$PR_NUMBER"
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "comment-id=$comment_id" >> "$GITHUB_OUTPUT"
fi
