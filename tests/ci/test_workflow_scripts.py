"""The workflows' shell scripts (.github/scripts/), run with fake GitHub files and a fake gh.

twideploy itself runs for real against the example project's `local` environment (the
embedded emulator, no credentials); a fake twideploy stands in only for exit codes the
emulator cannot produce on demand (an error, drift) and for argument-passing checks.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.ci.conftest import SCRIPTS, GitHubSandbox, Run, copy_project, make_sandbox

RUN = str(SCRIPTS / "run-twideploy.sh")
MASK = str(SCRIPTS / "mask-secrets.sh")
COMMENT = str(SCRIPTS / "plan-comment.sh")
DRIFT_ISSUE = str(SCRIPTS / "drift-issue.sh")
ACTION_RUN = str(SCRIPTS / "action-run.sh")

PLAN_MARKER = "<!-- twideploy-plan -->"
SECRET = "s3cr3t-api-secret-value"


def writes(calls: list[dict]) -> list[dict]:
    """The gh calls that change something on GitHub."""
    return [c for c in calls if c["argv"][:1] != ["api"] or "--method" in c["argv"]
            if c["argv"][:2] != ["issue", "list"]]


# --------------------------------------------------------------------------- run-twideploy.sh


def test_apply_then_plan_has_no_changes(gh_sandbox: GitHubSandbox, project: Path):
    applied = gh_sandbox.run([RUN, "apply", "--env", "local", "--auto-approve"], cwd=project)
    assert applied.returncode == 0, applied.stderr
    assert applied.outputs["exit-code"] == "0"
    assert applied.outputs["has-changes"] == "false"
    assert "#### twideploy apply (local)" in applied.summary  # text output goes in a code block
    assert "```text" in applied.summary and "Apply complete" in applied.summary

    planned = gh_sandbox.run([RUN, "plan", "--env", "local", "--format", "markdown", "--detailed-exitcode"],
                             cwd=project)
    assert planned.returncode == 0, planned.stderr
    assert planned.outputs["exit-code"] == "0"
    assert planned.outputs["has-changes"] == "false"
    assert planned.summary.startswith(PLAN_MARKER)


def test_error_fails_the_step_with_the_error_in_the_summary(gh_sandbox: GitHubSandbox, project: Path):
    # staging needs TWILIO_* and CRM_TOKEN, which the sandbox does not have.
    run = gh_sandbox.run([RUN, "validate", "--env", "staging"], cwd=project)
    assert run.returncode == 1
    assert run.outputs["exit-code"] == "1"
    assert run.outputs["has-changes"] == "false"
    assert "failed (exit 1)" in run.summary
    assert "TWILIO_ACCOUNT_SID" in run.summary


def test_usage_error_exit_2_is_not_taken_for_changes(gh_sandbox: GitHubSandbox, project: Path):
    run = gh_sandbox.run([RUN, "plan", "--env", "local", "--no-such-option"], cwd=project)
    assert run.returncode == 2
    assert run.outputs["has-changes"] == "false"
    assert "No such option" in run.summary


def test_exit_2_of_apply_is_a_failure(gh_sandbox: GitHubSandbox):
    gh_sandbox.fake_program("twideploy", 'echo "something"; exit 2\n')
    run = gh_sandbox.run([RUN, "apply", "--env", "staging", "--auto-approve"])
    assert run.returncode == 2
    assert run.outputs["has-changes"] == "false"


@pytest.mark.parametrize("code, status, has_changes", [(0, 0, "false"), (2, 0, "true"), (1, 1, "false")])
def test_drift_exit_codes(gh_sandbox: GitHubSandbox, code: int, status: int, has_changes: str):
    gh_sandbox.fake_program("twideploy", f'''\
        echo "### Drift in staging"
        echo "flow.ivr-main changed in the Studio console (revision 7)"
        echo "cannot reach Twilio" >&2
        exit {code}
    ''')
    run = gh_sandbox.run([RUN, "drift", "--env", "staging", "--format", "markdown"])
    assert run.returncode == status
    assert run.outputs["exit-code"] == str(code)
    assert run.outputs["has-changes"] == has_changes
    assert "flow.ivr-main changed" in Path(run.outputs["summary-file"]).read_text()
    assert ("failed (exit 1)" in run.summary) == (code == 1)


def test_secrets_are_redacted_from_summary_file_and_step_summary(gh_sandbox: GitHubSandbox):
    gh_sandbox.fake_program("twideploy", f'echo "| token | {SECRET} |"; echo "crm: tok-crm-123" >&2; exit 1\n')
    run = gh_sandbox.run([RUN, "plan", "--env", "staging", "--format", "markdown"],
                         env={"TWILIO_API_SECRET": SECRET, "TWIDEPLOY_MASK_VARS": "CRM_TOKEN",
                              "CRM_TOKEN": "tok-crm-123"})
    assert SECRET not in run.summary and "tok-crm-123" not in run.summary
    assert SECRET not in Path(run.outputs["summary-file"]).read_text()
    assert "| token | *** |" in run.summary
    assert "crm: ***" in run.summary


# --------------------------------------------------------------------------- mask-secrets.sh


def test_mask_secrets_masks_credentials_lines_and_derived_values(gh_sandbox: GitHubSandbox):
    env = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_API_KEY": "SK" + "2" * 32,
           "TWILIO_API_SECRET": SECRET, "TWIDEPLOY_MASK_VARS": "CRM_TOKEN, PEM",
           "CRM_TOKEN": "crm-token-xyz", "PEM": "line-one\nline-two\n", "EXTRA": "extra-value"}
    run = gh_sandbox.run([MASK, "EXTRA"], env=env)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert all(line.startswith("::add-mask::") for line in lines)  # nothing printed in clear
    masked = {line.removeprefix("::add-mask::") for line in lines}
    basic = base64.b64encode(f"{env['TWILIO_API_KEY']}:{SECRET}".encode()).decode()
    assert {env["TWILIO_ACCOUNT_SID"], env["TWILIO_API_KEY"], SECRET, "crm-token-xyz",
            "line-one", "line-two", "extra-value", basic} <= masked


def test_mask_secrets_prints_nothing_without_secrets(gh_sandbox: GitHubSandbox):
    run = gh_sandbox.run([MASK])
    assert run.returncode == 0 and run.stdout == ""


# --------------------------------------------------------------------------- plan-comment.sh


@pytest.fixture(scope="module")
def action_plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Path]:
    """A real plan of `local`, made once through the composite action's script (action-run.sh)."""
    root = tmp_path_factory.mktemp("action-plan")
    sandbox = make_sandbox(root / "gh")
    project = copy_project(root / "project")
    run = sandbox.run([ACTION_RUN], cwd=project,
                      env={"INPUT_COMMAND": "plan", "INPUT_ENVIRONMENT": "local", "INPUT_ARGS": ""})
    return run, project


@pytest.fixture
def plan_markdown(action_plan: tuple[Run, Path], tmp_path: Path) -> Path:
    run, _ = action_plan
    assert run.outputs["has-changes"] == "true", run.stderr
    copy = tmp_path / "plan.md"
    copy.write_text(Path(run.outputs["summary-file"]).read_text())
    return copy


def comment_env(**extra: str) -> dict[str, str]:
    return {"PR_NUMBER": "17", "HEAD_SHA": "abc1234", **extra}


@pytest.mark.parametrize("existing", [
    "[]",
    # a plan comment of another environment, and an unrelated comment: not ours
    json.dumps([{"id": 5, "body": "<!-- twideploy-plan-env: prod -->\n" + PLAN_MARKER + "\nold prod plan"},
                {"id": 6, "body": "LGTM, twideploy-plan-env: local"}]),
])
def test_plan_comment_is_created_when_none_exists(gh_sandbox: GitHubSandbox, plan_markdown: Path, existing: str):
    gh_sandbox.respond(r"^api --paginate repos/acme/contact-center/issues/17/comments", existing)
    gh_sandbox.respond(r"^api --method POST", "901\n")
    run = gh_sandbox.run([COMMENT, "local", str(plan_markdown)], env=comment_env())
    assert run.returncode == 0, run.stderr

    calls = gh_sandbox.gh_calls()
    assert calls[0]["argv"] == ["api", "--paginate", "repos/acme/contact-center/issues/17/comments?per_page=100"]
    assert [c["argv"][:4] for c in writes(calls)] == [
        ["api", "--method", "POST", "repos/acme/contact-center/issues/17/comments"]]
    body = json.loads(writes(calls)[0]["input"])["body"]
    assert body.startswith("<!-- twideploy-plan-env: local -->\n" + PLAN_MARKER)
    assert plan_markdown.read_text() in body
    assert body.count("```mermaid") == 3  # a picture of each flow the plan creates
    assert "actions/runs/4242" in body and "abc1234" in body
    assert run.outputs["comment-id"] == "901"


def test_plan_comment_with_the_markers_is_updated_in_place(gh_sandbox: GitHubSandbox, plan_markdown: Path):
    # Two pages, as `gh api --paginate` prints them; ours is on the second.
    page1 = [{"id": 5, "body": "<!-- twideploy-plan-env: prod -->\n" + PLAN_MARKER}, {"id": 6, "body": "nice"}]
    page2 = [{"id": 77, "body": "<!-- twideploy-plan-env: local -->\n" + PLAN_MARKER + "\nstale plan"}]
    gh_sandbox.respond(r"^api --paginate", json.dumps(page1) + json.dumps(page2))
    run = gh_sandbox.run([COMMENT, "local", str(plan_markdown)], env=comment_env())
    assert run.returncode == 0, run.stderr

    changes = writes(gh_sandbox.gh_calls())
    assert [c["argv"][:4] for c in changes] == [
        ["api", "--method", "PATCH", "repos/acme/contact-center/issues/comments/77"]]
    body = json.loads(changes[0]["input"])["body"]
    assert "stale plan" not in body and plan_markdown.read_text() in body
    assert run.outputs["comment-id"] == "77"


def test_plan_comment_redacts_secrets_and_fits_githubs_limit(gh_sandbox: GitHubSandbox, tmp_path: Path):
    plan = tmp_path / "plan.md"
    plan.write_text(PLAN_MARKER + f"\ntoken {SECRET}\n" + "| `+` | `flow.x` | create |\n" * 5000)
    gh_sandbox.respond(r"^api --paginate", "[]")
    gh_sandbox.respond(r"^api --method POST", "1\n")
    run = gh_sandbox.run([COMMENT, "staging", str(plan)], env=comment_env(TWILIO_API_SECRET=SECRET))
    assert run.returncode == 0, run.stderr
    body = json.loads(writes(gh_sandbox.gh_calls())[0]["input"])["body"]
    assert SECRET not in body and "token ***" in body
    assert len(body) <= 65536
    assert body.rstrip().endswith("the full plan is in the workflow run's summary._")


def test_plan_comment_refuses_a_bad_environment_name(gh_sandbox: GitHubSandbox, tmp_path: Path):
    plan = tmp_path / "plan.md"
    plan.write_text(PLAN_MARKER)
    run = gh_sandbox.run([COMMENT, "x -->", str(plan)], env=comment_env())
    assert run.returncode == 2
    assert gh_sandbox.gh_calls() == []


# --------------------------------------------------------------------------- drift-issue.sh


@pytest.fixture
def drift_report(tmp_path: Path) -> Path:
    report = tmp_path / "drift.md"
    report.write_text("### Drift in `staging`\n\n`flow.ivr-main` was edited in the console (revision 9).\n")
    return report


ISSUES = json.dumps([{"number": 9, "title": "Drift detected in staging-eu"},
                     {"number": 8, "title": "Drift detected in staging"}])


def test_drift_opens_an_issue(gh_sandbox: GitHubSandbox, drift_report: Path):
    gh_sandbox.respond(r"^issue list", json.dumps([{"number": 9, "title": "Drift detected in staging-eu"}]))
    gh_sandbox.respond(r"^issue create", "https://github.com/acme/contact-center/issues/42\n")
    run = gh_sandbox.run([DRIFT_ISSUE, "staging", "2", str(drift_report)])
    assert run.returncode == 0, run.stderr

    calls = gh_sandbox.gh_calls()
    assert calls[0]["argv"][:2] == ["issue", "list"] and "--state" in calls[0]["argv"]
    (create,) = writes(calls)
    argv = create["argv"]
    assert argv[:2] == ["issue", "create"]
    assert argv[argv.index("--title") + 1] == "Drift detected in staging"
    assert argv[argv.index("--repo") + 1] == "acme/contact-center"
    assert "`flow.ivr-main` was edited in the console" in create["body"]
    assert "twideploy apply --env staging" in create["body"]
    assert run.outputs == {"issue-number": "42", "action": "created"}


def test_drift_comments_on_the_open_issue(gh_sandbox: GitHubSandbox, drift_report: Path):
    gh_sandbox.respond(r"^issue list", ISSUES)
    run = gh_sandbox.run([DRIFT_ISSUE, "staging", "2", str(drift_report)])
    assert run.returncode == 0, run.stderr
    (comment,) = writes(gh_sandbox.gh_calls())
    assert comment["argv"][:3] == ["issue", "comment", "8"]  # the exact title, not staging-eu's #9
    assert "revision 9" in comment["body"]
    assert run.outputs == {"issue-number": "8", "action": "commented"}


def test_no_drift_closes_the_open_issue(gh_sandbox: GitHubSandbox, drift_report: Path):
    gh_sandbox.respond(r"^issue list", ISSUES)
    run = gh_sandbox.run([DRIFT_ISSUE, "staging", "0", str(drift_report)])
    assert run.returncode == 0, run.stderr
    assert [c["argv"][:3] for c in writes(gh_sandbox.gh_calls())] == [
        ["issue", "comment", "8"], ["issue", "close", "8"]]
    assert run.outputs["action"] == "closed"


def test_no_drift_and_no_issue_touches_nothing(gh_sandbox: GitHubSandbox, drift_report: Path):
    gh_sandbox.respond(r"^issue list", "[]")
    run = gh_sandbox.run([DRIFT_ISSUE, "prod", "0", str(drift_report)])
    assert run.returncode == 0, run.stderr
    assert writes(gh_sandbox.gh_calls()) == []
    assert run.outputs["action"] == "none"


def test_drift_error_fails_without_touching_issues(gh_sandbox: GitHubSandbox, drift_report: Path):
    run = gh_sandbox.run([DRIFT_ISSUE, "staging", "1", str(drift_report)])
    assert run.returncode == 1
    assert gh_sandbox.gh_calls() == []


def test_drift_issue_redacts_secrets(gh_sandbox: GitHubSandbox, tmp_path: Path):
    report = tmp_path / "drift.md"
    report.write_text(f"variable CRM_TOKEN is now crm-token-live-1 (was {SECRET})\n")
    gh_sandbox.respond(r"^issue list", "[]")
    gh_sandbox.respond(r"^issue create", "https://github.com/acme/contact-center/issues/3\n")
    run = gh_sandbox.run([DRIFT_ISSUE, "staging", "2", str(report)],
                         env={"TWILIO_API_SECRET": SECRET, "TWIDEPLOY_MASK_VARS": "CRM_TOKEN",
                              "CRM_TOKEN": "crm-token-live-1"})
    assert run.returncode == 0, run.stderr
    body = writes(gh_sandbox.gh_calls())[0]["body"]
    assert "now *** (was ***)" in body


# --------------------------------------------------------------------------- action-run.sh (action.yml)


@pytest.fixture
def argv_recorder(gh_sandbox: GitHubSandbox) -> Path:
    """A fake twideploy that writes its arguments, one per line, to a file."""
    record = gh_sandbox.root / "twideploy-argv"
    gh_sandbox.fake_program("twideploy", f'printf "%s\\n" "$@" > "{record}"\necho "<!-- out -->"\n')
    return record


@pytest.mark.parametrize("command, environment, args, expected", [
    ("plan", "staging", "", ["plan", "--env", "staging", "--format", "markdown", "--detailed-exitcode"]),
    ("plan", "staging", "--format json --out plan.json",
     ["plan", "--env", "staging", "--detailed-exitcode", "--format", "json", "--out", "plan.json"]),
    ("apply", "staging", "--prune", ["apply", "--env", "staging", "--auto-approve", "--prune"]),
    ("validate", "", "", ["validate"]),
    ("drift", "prod", "", ["drift", "--env", "prod", "--format", "markdown"]),
    ("promote", "prod", "--from staging --ref 'v1.2 rc'",
     ["promote", "--to", "prod", "--auto-approve", "--format", "markdown", "--from", "staging", "--ref", "v1.2 rc"]),
    ("plan", "", "'$(touch pwned)' `touch pwned2`", ["plan", "--format", "markdown", "--detailed-exitcode",
                                                       "$(touch pwned)", "`touch", "pwned2`"]),
])
def test_action_builds_the_command_line(gh_sandbox: GitHubSandbox, argv_recorder: Path, command: str,
                                        environment: str, args: str, expected: list[str]):
    run = gh_sandbox.run([ACTION_RUN], env={"INPUT_COMMAND": command, "INPUT_ENVIRONMENT": environment,
                                            "INPUT_ARGS": args})
    assert run.returncode == 0, run.stderr
    assert argv_recorder.read_text().splitlines() == expected
    assert not list(gh_sandbox.root.glob("pwned*"))  # arguments are never executed
    assert run.summary.startswith("<!-- out -->")


def test_action_rejects_an_unknown_command(gh_sandbox: GitHubSandbox, argv_recorder: Path):
    run = gh_sandbox.run([ACTION_RUN], env={"INPUT_COMMAND": "destroy"})
    assert run.returncode == 2
    assert "::error::" in run.stdout
    assert not argv_recorder.exists()


def test_plan_with_changes_lands_in_summary_and_sets_has_changes(action_plan: tuple[Run, Path]):
    """A real plan of the fresh emulator through the action: exit 2 means changes, not failure."""
    run, _ = action_plan
    assert run.returncode == 0, run.stderr
    assert run.outputs["exit-code"] == "2"
    assert run.outputs["has-changes"] == "true"
    assert run.summary.startswith(PLAN_MARKER)
    assert "### twideploy plan: `local`" in run.summary
    assert "flow.ivr-main" in run.summary and "| create |" in run.summary
    summary_file = Path(run.outputs["summary-file"])
    assert summary_file.read_text().strip() == run.summary.strip()
    assert summary_file.name.startswith("twideploy-plan-local-")
    assert "flow.ivr-main" in run.stdout  # and in the log
