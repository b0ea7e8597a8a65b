"""The workflows' shape (triggers, permissions, concurrency, environments, caches, pinned
actions) and their jobs run step by step: every `run:` step executed in order with bash as
GitHub runs it, `${{ }}` expressions filled in from a context, step outputs passed on.
`uses:` steps (checkout, setup-python, cache) and the pip install are skipped.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from ruamel.yaml import YAML

from tests.ci.conftest import REPO, SCRIPTS, WORKFLOWS, GitHubSandbox, parse_outputs
from twideploy.manifest import load_project

PINNED = {"actions/checkout@v4", "actions/setup-python@v5", "actions/setup-node@v4", "actions/cache@v4",
          "actions/cache/restore@v4", "actions/cache/save@v4", "actions/upload-artifact@v4"}
SECRET_NAMES = ("TWILIO_ACCOUNT_SID", "TWILIO_API_KEY", "TWILIO_API_SECRET", "CRM_TOKEN")


def load(name: str) -> dict:
    return YAML(typ="safe").load((WORKFLOWS / name).read_text())


def load_action() -> dict:
    return YAML(typ="safe").load((REPO / "action.yml").read_text())


def all_workflows() -> dict[str, dict]:
    return {p.name: YAML(typ="safe").load(p.read_text()) for p in sorted(WORKFLOWS.glob("*.y*ml"))}


def triggers(doc: dict) -> dict:
    return doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` key as True


def steps_of(doc: dict) -> list[tuple[str, dict]]:
    if "jobs" in doc:
        return [(job, step) for job, spec in doc["jobs"].items() for step in spec.get("steps", [])]
    return [("runs", step) for step in doc["runs"]["steps"]]


# --------------------------------------------------------------------------- shape


def test_least_privilege_permissions():
    for name, doc in all_workflows().items():
        assert doc["permissions"] == {}, f"{name}: the workflow grants nothing; jobs ask for what they need"
        for job_name, job in doc["jobs"].items():
            perms = job.get("permissions")
            assert isinstance(perms, dict), f"{name}/{job_name} has no permissions block"
            writes = {scope for scope, level in perms.items() if level == "write"}
            expected = {("pr.yml", "plan"): {"pull-requests"}, ("drift.yml", "drift"): {"issues"},
                        ("preview.yml", "preview"): {"pull-requests"},
                        ("promote-prod.yml", "dispatch"): {"actions"}}.get((name, job_name), set())
            assert writes == expected, f"{name}/{job_name} writes {writes}"


def test_actions_are_pinned():
    uses = {step["uses"] for doc in [*all_workflows().values(), load_action()]
            for _, step in steps_of(doc) if "uses" in step}
    assert uses and uses <= PINNED, uses - PINNED


def test_no_expressions_inside_run_scripts():
    """Values reach scripts through env:, never pasted into the script (script injection)."""
    for doc in [*all_workflows().values(), load_action()]:
        for job, step in steps_of(doc):
            assert "${{" not in step.get("run", ""), f"{job}: {step.get('name')}"


def test_secrets_only_in_env_and_masked_before_twideploy_runs():
    for name, doc in all_workflows().items():
        text = (WORKFLOWS / name).read_text()
        for line in text.splitlines():
            if re.search(r"(?<![\w-])secrets\.", line):
                assert re.match(r"\s+[A-Z_]+: \$\{\{ secrets\.[A-Z_]+ \}\}$", line), f"{name}: {line.strip()}"
        for job_name, job in doc["jobs"].items():
            if not re.search(r"(?<![\w-])secrets\.", json.dumps(job)):
                continue
            runs = [s.get("run", "") for s in job["steps"]]
            mask = next(i for i, r in enumerate(runs) if "mask-secrets.sh" in r)
            first = next(i for i, r in enumerate(runs) if re.search(r"twideploy |run-twideploy\.sh", r))
            assert mask < first, f"{name}/{job_name}: secrets are masked only after twideploy ran"
            assert "CRM_TOKEN" in job["env"]["TWIDEPLOY_MASK_VARS"]


def test_scripts_referenced_exist_and_are_executable():
    text = "\n".join(p.read_text() for p in [*WORKFLOWS.glob("*.yml"), REPO / "action.yml"])
    names = set(re.findall(r"\.github/scripts/([\w.-]+)", text))
    assert names >= {"run-twideploy.sh", "mask-secrets.sh", "plan-comment.sh", "drift-issue.sh", "action-run.sh"}
    for script in names:
        path = SCRIPTS / script
        assert path.is_file() and path.stat().st_mode & 0o111, path
    tracked = subprocess.run(["git", "ls-files", "-s", ".github/scripts"], cwd=REPO, capture_output=True,
                             text=True).stdout
    for line in tracked.splitlines():
        if line.endswith(".sh"):
            assert line.startswith("100755"), f"not executable in git: {line}"


def test_pr_workflow_shape():
    doc = load("pr.yml")
    assert "pull_request" in triggers(doc)
    validate, plan = doc["jobs"]["validate"], doc["jobs"]["plan"]
    runs = " ".join(s.get("run", "") for s in validate["steps"])
    assert "twideploy validate" in runs and "twideploy envs --json --target twilio" in runs
    assert validate["outputs"]["matrix"] == "${{ steps.envs.outputs.matrix }}"
    assert plan["needs"] == "validate"
    assert plan["strategy"]["matrix"]["env"] == "${{ fromJSON(needs.validate.outputs.matrix) }}"
    assert plan["strategy"]["fail-fast"] is False
    assert plan["environment"] == "${{ matrix.env.name }}"
    assert "github.event.pull_request.head.repo.full_name == github.repository" in plan["if"]
    assert "needs.validate.outputs.matrix != '[]'" in plan["if"]


def test_deploy_staging_shape():
    doc = load("deploy-staging.yml")
    assert triggers(doc)["push"]["branches"] == ["main"]
    assert doc["concurrency"] == {"group": "twideploy-staging", "cancel-in-progress": False}
    assert doc["jobs"]["deploy"]["environment"] == "staging"


def test_promote_prod_shape():
    doc = load("promote-prod.yml")
    on = triggers(doc)
    assert on["release"]["types"] == ["published"]
    assert "ref" in on["workflow_dispatch"]["inputs"]
    promote = doc["jobs"]["promote"]
    assert promote["environment"] == "production"
    assert promote["concurrency"] == {"group": "twideploy-prod", "cancel-in-progress": False}
    dispatch = " ".join(s.get("run", "") for s in doc["jobs"]["dispatch"]["steps"])
    assert "gh workflow run promote-prod.yml" in dispatch  # this very file
    assert promote["steps"][0]["with"]["fetch-depth"] == 0


def test_drift_shape():
    doc = load("drift.yml")
    on = triggers(doc)
    assert re.fullmatch(r"[\d*]+ [\d*]+ \* \* \*", on["schedule"][0]["cron"])  # nightly
    assert "workflow_dispatch" in on
    drift = doc["jobs"]["drift"]
    assert drift["strategy"]["matrix"]["env"] == "${{ fromJSON(needs.envs.outputs.matrix) }}"
    assert drift["environment"] == "${{ matrix.env.name }}"


@pytest.mark.parametrize("workflow, job", [("pr.yml", "plan"), ("drift.yml", "drift")])
def test_deploy_state_is_restored_per_environment_only_for_local_state(workflow: str, job: str):
    steps = load(workflow)["jobs"][job]["steps"]
    uses = [s.get("uses", "") for s in steps]
    restore = steps[uses.index("actions/cache/restore@v4")]
    assert restore["if"] == "matrix.env.state == 'local'"  # `state: account` keeps it in the account
    assert restore["with"]["path"] == ".twideploy"
    assert restore["with"]["key"] == "twideploy-state-${{ matrix.env.name }}-${{ github.run_id }}"
    assert restore["with"]["restore-keys"].strip() == "twideploy-state-${{ matrix.env.name }}-"
    main = next(i for i, s in enumerate(steps) if "run-twideploy.sh" in s.get("run", ""))
    assert uses.index("actions/cache/restore@v4") < main
    assert "actions/cache/save@v4" not in uses


@pytest.mark.parametrize("workflow, job, env", [("deploy-staging.yml", "deploy", "staging"),
                                                ("promote-prod.yml", "promote", "prod")])
def test_account_state_environments_deploy_without_a_state_cache(workflow: str, job: str, env: str):
    uses = [s.get("uses", "") for s in load(workflow)["jobs"][job]["steps"]]
    assert not any(u.startswith("actions/cache") for u in uses)
    assert load_project(REPO).environment(env).state == "account"


# --------------------------------------------------------------------------- running jobs


@dataclass
class JobRun:
    ok: bool
    ran: list[str] = field(default_factory=list)
    failed: str | None = None
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    log: str = ""
    summary: str = ""


def lookup(path: str, context: dict) -> Any:
    value: Any = context
    for part in path.split("."):
        value = value.get(part, "") if isinstance(value, dict) else ""
    return value


def evaluate(text: str, context: dict) -> str:
    def one(match: re.Match) -> str:
        paths = [path.strip() for path in match.group(1).split("||")]  # `a || b`: the first that is set
        if not all(re.fullmatch(r"[\w.-]+", path) for path in paths):
            raise NotImplementedError(f"expression {match.group(1).strip()!r}")
        value = next((v for v in (lookup(path, context) for path in paths) if v not in ("", None)), "")
        return value if isinstance(value, str) else json.dumps(value)
    return re.sub(r"\$\{\{(.*?)\}\}", one, str(text))


def condition(expr: str, context: dict, env: dict) -> bool:
    """`always()`, and `&&` of `path == 'literal'` / `path != 'literal'` (env.X reads the step env)."""
    expr = expr.strip().removeprefix("${{").removesuffix("}}").strip()
    result = True
    for term in expr.split("&&"):
        term = term.strip()
        if term == "always()":
            continue
        m = re.fullmatch(r"([\w.-]+) (==|!=) '([^']*)'", term)
        if not m:
            raise NotImplementedError(f"if: {term}")
        path, op, literal = m.groups()
        value = env.get(path[4:], "") if path.startswith("env.") else lookup(path, context)
        result = result and ((str(value) == literal) == (op == "=="))
    return result


def run_steps(sandbox: GitHubSandbox, steps: list[dict], cwd: Path, context: dict,
              job_env: dict[str, str] | None = None, extra_env: dict[str, str] | None = None) -> JobRun:
    context = {**context, "steps": {}}
    job_env = {k: evaluate(v, context) for k, v in (job_env or {}).items()}
    result = JobRun(ok=True)
    summary = Path(sandbox.env["GITHUB_STEP_SUMMARY"])
    summary.write_text("")
    for index, step in enumerate(steps):
        name = evaluate(step.get("name", step.get("uses", f"step {index}")), context)
        if "uses" in step or name == "Install twideploy":
            continue
        if not result.ok and "always()" not in step.get("if", ""):
            continue  # after a failure only `if: always()` steps run
        env = {**sandbox.prepared_env(), **(extra_env or {}), **job_env,
               **{k: evaluate(v, context) for k, v in step.get("env", {}).items()}}
        if "if" in step and not condition(step["if"], context, env):
            continue
        output = sandbox.root / f"output-{index}"
        output.write_text("")
        env["GITHUB_OUTPUT"] = str(output)
        workdir = cwd / evaluate(step.get("working-directory", "."), context)
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                              cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
        result.ran.append(name)
        result.log += proc.stdout + proc.stderr
        if "id" in step:
            context["steps"][step["id"]] = {"outputs": parse_outputs(output.read_text())}
        if proc.returncode != 0 and result.ok:
            result.ok, result.failed = False, name
    result.outputs = {k: v["outputs"] for k, v in context["steps"].items()}
    result.summary = summary.read_text()
    return result


def run_job(sandbox: GitHubSandbox, workflow: str, job_name: str, cwd: Path, context: dict) -> JobRun:
    job = load(workflow)["jobs"][job_name]
    return run_steps(sandbox, job["steps"], cwd, context, job.get("env", {}))


def run_action(sandbox: GitHubSandbox, cwd: Path, inputs: dict[str, str], github: dict,
               env: dict[str, str] | None = None) -> JobRun:
    """action.yml's steps as a caller's `uses:` step runs them: inputs with defaults, its env."""
    action = load_action()
    context: dict[str, Any] = {"github": github}
    values = {name: evaluate(spec.get("default", ""), context) for name, spec in action["inputs"].items()}
    unknown = set(inputs) - set(values)
    assert not unknown, f"not inputs of action.yml: {unknown}"
    context["inputs"] = {**values, **inputs}
    return run_steps(sandbox, action["runs"]["steps"], cwd, context,
                     extra_env={"GITHUB_ACTION_PATH": str(REPO), **(env or {})})


SECRETS = {"TWILIO_ACCOUNT_SID": "AC" + "9" * 32, "TWILIO_API_KEY": "SK" + "8" * 32,
           "TWILIO_API_SECRET": "gh-secret-api-secret", "CRM_TOKEN": "gh-secret-crm-token"}
LOCAL = {"name": "local", "target": "emulator", "file": "environments/local.yaml"}


def pr_context(matrix_env: dict) -> dict:
    return {"matrix": {"env": matrix_env}, "secrets": SECRETS,
            "github": {"token": "ghs_fake", "run_id": "4242",
                       "event": {"pull_request": {"number": 17, "head": {"sha": "abc1234"}}}}}


def test_pr_validate_job_outputs_the_twilio_matrix(gh_sandbox: GitHubSandbox, project: Path):
    run = run_job(gh_sandbox, "pr.yml", "validate", project, pr_context({}))
    assert run.ok, run.log
    assert run.ran == ["Validate", "List the Twilio environments"]
    matrix = json.loads(run.outputs["envs"]["matrix"])
    assert [e["name"] for e in matrix] == ["prod", "staging"]


def test_pr_flow_tests_job_runs_the_scenarios_and_publishes_the_results(gh_sandbox: GitHubSandbox, project: Path):
    steps = load("pr.yml")["jobs"]["flow-tests"]["steps"]
    npm_cache = {"TWIDEPLOY_CACHE_DIR": str(REPO / ".twideploy" / "cache")}  # the repository's, already filled
    run = run_steps(gh_sandbox, steps, project, pr_context({}), extra_env=npm_cache)
    assert run.ok, run.log
    assert run.ran == ["Run the scenarios"]
    assert "twideploy test: 18 passed" in run.summary
    assert ElementTree.parse(project / "flow-tests.xml").getroot().get("tests") == "18"
    assert [s["with"]["path"] for s in steps if s.get("uses") == "actions/upload-artifact@v4"] == ["flow-tests.xml"]

    menu = project / "flows/ivr-main.yaml"
    menu.write_text(menu.read_text().replace("{event: timeout, next: voicemail_prompt}", "{event: timeout}"))
    run = run_steps(gh_sandbox, steps, project, pr_context({}), extra_env=npm_cache)
    assert not run.ok and run.failed == "Run the scenarios"
    assert "FAIL" in run.summary and "a silent caller goes to voicemail" in run.summary


def test_pr_validate_job_fails_on_a_broken_flow(gh_sandbox: GitHubSandbox, project: Path):
    flow = next((project / "flows").glob("*.yaml"))
    flow.write_text(flow.read_text() + "\nnot_a_flow_key: [\n")
    run = run_job(gh_sandbox, "pr.yml", "validate", project, pr_context({}))
    assert not run.ok and run.failed == "Validate"
    assert "::error file=flows/" in run.log


def test_pr_plan_job_plans_and_comments(gh_sandbox: GitHubSandbox, project: Path):
    """The plan job for one matrix entry; `local` (the emulator) stands in for a Twilio account."""
    gh_sandbox.respond(r"^api --paginate", "[]")
    gh_sandbox.respond(r"^api --method POST", "321\n")
    run = run_job(gh_sandbox, "pr.yml", "plan", project, pr_context(LOCAL))
    assert run.ok, run.log
    assert run.ran == ["Mask secrets", "Plan", "Comment the plan on the pull request"]
    for value in SECRETS.values():
        assert f"::add-mask::{value}" in run.log
    assert run.outputs["plan"]["exit-code"] == "2" and run.outputs["plan"]["has-changes"] == "true"
    assert "### twideploy plan: `local`" in run.summary
    (post,) = [c for c in gh_sandbox.gh_calls() if "--method" in c["argv"]]
    assert post["argv"][:4] == ["api", "--method", "POST", "repos/acme/contact-center/issues/17/comments"]
    body = json.loads(post["input"])["body"]
    assert body.startswith("<!-- twideploy-plan-env: local -->") and "flow.ivr-main" in body
    assert "abc1234" in body
    assert "Posted the plan comment 321 for local on #17" in run.log


def test_drift_job_opens_an_issue_on_drift(gh_sandbox: GitHubSandbox, project: Path):
    gh_sandbox.fake_program("twideploy", '[ "$1" = drift ] || exit 9\necho "### Drift in $3"\nexit 2\n')
    gh_sandbox.respond(r"^issue list", "[]")
    gh_sandbox.respond(r"^issue create", "https://github.com/acme/contact-center/issues/5\n")
    context = {**pr_context({"name": "staging", "target": "twilio"}), "github": {"token": "ghs_fake"}}
    run = run_job(gh_sandbox, "drift.yml", "drift", project, context)
    assert run.ok, run.log
    assert run.ran == ["Mask secrets", "Drift", "Open, update or close the drift issue"]
    (create,) = [c for c in gh_sandbox.gh_calls() if c["argv"][:2] == ["issue", "create"]]
    assert "Drift detected in staging" in create["argv"]
    assert "### Drift in staging" in create["body"]


def test_drift_job_fails_on_error_without_touching_issues(gh_sandbox: GitHubSandbox, project: Path):
    gh_sandbox.fake_program("twideploy", 'echo "error: 20003 Authenticate" >&2\nexit 1\n')
    context = {**pr_context({"name": "staging", "target": "twilio"}), "github": {"token": "ghs_fake"}}
    run = run_job(gh_sandbox, "drift.yml", "drift", project, context)
    assert not run.ok and run.failed == "Drift"
    assert gh_sandbox.gh_calls() == []


@pytest.fixture
def recorder(gh_sandbox: GitHubSandbox) -> Path:
    """A fake twideploy that appends each command line to a file; `validate` fails if FAIL_VALIDATE."""
    record = gh_sandbox.root / "twideploy-calls"
    gh_sandbox.fake_program("twideploy", f'''\
        echo "$*" >> "{record}"
        if [ "$1" = validate ] && [ -n "${{FAIL_VALIDATE:-}}" ]; then exit 1; fi
        echo done
    ''')
    return record


def test_deploy_staging_validates_then_applies(gh_sandbox: GitHubSandbox, project: Path, recorder: Path):
    run = run_job(gh_sandbox, "deploy-staging.yml", "deploy", project, {"secrets": SECRETS})
    assert run.ok, run.log
    assert recorder.read_text().splitlines() == ["validate --env staging", "apply --env staging --auto-approve"]


def test_deploy_staging_does_not_apply_when_validation_fails(gh_sandbox: GitHubSandbox, project: Path,
                                                             recorder: Path):
    gh_sandbox.env["FAIL_VALIDATE"] = "1"
    run = run_job(gh_sandbox, "deploy-staging.yml", "deploy", project, {"secrets": SECRETS})
    assert not run.ok and run.failed == "Validate"
    assert recorder.read_text().splitlines() == ["validate --env staging"]


@pytest.fixture
def git_project(project: Path) -> Path:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)
    git("init", "-q")
    git("-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-q", "--allow-empty", "-m", "x")
    git("tag", "v1.0.0")
    return project


@pytest.mark.parametrize("ref, ok, expected", [
    ("v1.0.0", True, ["promote --from staging --to prod --ref v1.0.0 --auto-approve --format markdown"]),
    ("", False, []),                   # required
    ("v9.9.9", False, []),             # no such tag
    ("--output=/tmp/x", False, []),    # not a ref at all
])
def test_promote_job(gh_sandbox: GitHubSandbox, git_project: Path, recorder: Path, ref: str, ok: bool,
                     expected: list[str]):
    run = run_job(gh_sandbox, "promote-prod.yml", "promote", git_project, {"secrets": SECRETS, "inputs": {"ref": ref}})
    assert run.ok is ok, run.log
    assert (recorder.read_text().splitlines() if recorder.exists() else []) == expected
    if not ok:
        assert run.failed == "Check the ref"


# --------------------------------------------------------------------------- action.yml


PR_EVENT = {"event_name": "pull_request", "token": "ghs_fake",
            "event": {"pull_request": {"number": 17, "head": {"sha": "abc1234"}}}}


def test_action_plans_and_comments_on_the_pull_request(gh_sandbox: GitHubSandbox, project: Path, tmp_path: Path):
    """The composite action for real (twideploy plan of `local`) with comment-on-pr."""
    existing = [{"id": 55, "body": "<!-- twideploy-plan-env: local -->\n<!-- twideploy-plan -->\nold"}]
    gh_sandbox.respond(r"^api --paginate", json.dumps(existing))
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    project.rename(workspace / "infra")
    run = run_action(gh_sandbox, workspace,
                     {"command": "plan", "environment": "local", "working-directory": "infra",
                      "comment-on-pr": "true", "mask-env": "CRM_TOKEN"},
                     PR_EVENT, env={"CRM_TOKEN": "crm-from-caller"})
    assert run.ok, run.log
    assert run.ran == ["Mask secrets", "twideploy plan", "Comment the plan on the pull request"]
    assert "::add-mask::crm-from-caller" in run.log
    assert run.outputs["run"]["has-changes"] == "true"
    assert run.summary.startswith("<!-- twideploy-plan -->")
    (patch,) = [c for c in gh_sandbox.gh_calls() if "--method" in c["argv"]]
    assert patch["argv"][:4] == ["api", "--method", "PATCH", "repos/acme/contact-center/issues/comments/55"]
    assert "flow.ivr-main" in json.loads(patch["input"])["body"]


def test_action_does_not_comment_unless_asked(gh_sandbox: GitHubSandbox, recorder: Path):
    run = run_action(gh_sandbox, gh_sandbox.root, {"command": "plan", "environment": "staging"}, PR_EVENT)
    assert run.ok, run.log
    assert run.ran == ["Mask secrets", "twideploy plan"]
    assert recorder.read_text().splitlines() == ["plan --env staging --format markdown --detailed-exitcode"]
    assert gh_sandbox.gh_calls() == []


def test_action_drift_opens_the_issue(gh_sandbox: GitHubSandbox):
    gh_sandbox.fake_program("twideploy", 'echo "### Drift: flow.ivr-main edited"\nexit 2\n')
    gh_sandbox.respond(r"^issue list", "[]")
    gh_sandbox.respond(r"^issue create", "https://github.com/acme/contact-center/issues/12\n")
    run = run_action(gh_sandbox, gh_sandbox.root, {"command": "drift", "environment": "prod",
                                                  "issue-on-drift": "true"}, {"event_name": "schedule"})
    assert run.ok, run.log
    assert run.outputs["run"]["exit-code"] == "2" and run.outputs["run"]["has-changes"] == "true"
    (create,) = [c for c in gh_sandbox.gh_calls() if c["argv"][:2] == ["issue", "create"]]
    assert "Drift detected in prod" in create["argv"]


def test_drift_job_for_real_opens_then_closes_the_issue(gh_sandbox: GitHubSandbox, project: Path, tmp_path: Path):
    """drift.yml's job against the emulator: a console edit is drift (issue opened); once
    apply has put the flow back, the next run closes the issue."""
    from twideploy.emulator import Emulator, account_sid_for
    from twideploy.secrets import Secret
    from twideploy.twilio_api.gateway import Credentials, Gateway

    with Emulator(tmp_path / "emulator.sqlite", account_sid=account_sid_for("local")) as emulator:
        gh_sandbox.env.update(TWIDEPLOY_EMULATOR_URL=emulator.base_url,
                              TWIDEPLOY_EMULATOR_ACCOUNT_SID=emulator.account_sid)
        assert (
            gh_sandbox.run(
                [str(SCRIPTS / "run-twideploy.sh"), "apply", "--env", "local", "--auto-approve"], cwd=project
            ).returncode
            == 0
        )

        client = Gateway(Credentials(emulator.account_sid, emulator.account_sid, Secret(emulator.auth_token)),
                         base_url=emulator.base_url).client
        [flow] = [f for f in client.studio.v2.flows.list() if f.friendly_name == "Acme IVR"]
        definition = client.studio.v2.flows(flow.sid).fetch().definition
        definition["description"] = "edited in the console"
        emulator.console_edit(flow.sid, definition, "Hotfix from the console")

        context = {**pr_context(LOCAL), "github": {"token": "ghs_fake"}}
        gh_sandbox.respond(r"^issue list", "[]")
        gh_sandbox.respond(r"^issue create", "https://github.com/acme/contact-center/issues/31\n")
        run = run_job(gh_sandbox, "drift.yml", "drift", project, context)
        assert run.ok, run.log
        assert run.outputs["drift"]["exit-code"] == "2" and run.outputs["drift"]["has-changes"] == "true"
        (create,) = [c for c in gh_sandbox.gh_calls() if c["argv"][:2] == ["issue", "create"]]
        assert "Drift detected in local" in create["argv"]
        assert "ivr-main" in create["body"] and "Hotfix from the console" in create["body"]
        assert "ivr-main" in run.summary

        assert (
            gh_sandbox.run(
                [str(SCRIPTS / "run-twideploy.sh"), "apply", "--env", "local", "--auto-approve"], cwd=project
            ).returncode
            == 0
        )
        gh_sandbox.gh_responses.clear()
        gh_sandbox.respond(r"^issue list", json.dumps([{"number": 31, "title": "Drift detected in local"}]))
        Path(gh_sandbox.env["FAKE_GH_LOG"]).unlink()
        run = run_job(gh_sandbox, "drift.yml", "drift", project, context)
        assert run.ok, run.log
        assert run.outputs["drift"]["exit-code"] == "0"
        assert [c["argv"][:3] for c in gh_sandbox.gh_calls()][1:] == [["issue", "comment", "31"],
                                                                       ["issue", "close", "31"]]


def test_pr_plan_job_failure_replaces_the_old_plan_comment(gh_sandbox: GitHubSandbox, project: Path):
    gh_sandbox.fake_program("twideploy", 'echo "error: HTTP 401 from Twilio" >&2\nexit 1\n')
    old = [{"id": 64, "body": "<!-- twideploy-plan-env: staging -->\n<!-- twideploy-plan -->\nPlan: 3 to create"}]
    gh_sandbox.respond(r"^api --paginate", json.dumps(old))
    run = run_job(gh_sandbox, "pr.yml", "plan", project, pr_context({"name": "staging", "target": "twilio"}))
    assert not run.ok and run.failed == "Plan"
    assert run.ran == ["Mask secrets", "Plan", "Comment the plan on the pull request"]
    (patch,) = [c for c in gh_sandbox.gh_calls() if "--method" in c["argv"]]
    assert patch["argv"][3] == "repos/acme/contact-center/issues/comments/64"
    body = json.loads(patch["input"])["body"]
    assert "The plan failed (exit 1)" in body and "3 to create" not in body


@pytest.mark.parametrize("spec, installs", [
    ("", str(REPO)),                      # the action's own checkout
    ("1.2.0", "twideploy==1.2.0"),
    ("twideploy>=1.2,<2", "twideploy>=1.2,<2"),
    ("git+https://example.com/acme/twideploy@main", "git+https://example.com/acme/twideploy@main"),
])
def test_action_installs_the_requested_twideploy(gh_sandbox: GitHubSandbox, spec: str, installs: str):
    record = gh_sandbox.root / "pip-argv"
    gh_sandbox.fake_program("python", f'printf "%s\\n" "$@" > "{record}"\n')
    gh_sandbox.fake_program("twideploy", 'echo "twideploy, version 9"\n')
    [step] = [s for s in load_action()["runs"]["steps"] if s.get("name") == "Install twideploy"]
    env = {**gh_sandbox.prepared_env(), "SPEC": spec, "GITHUB_ACTION_PATH": str(REPO)}
    proc = subprocess.run(["bash", "-eo", "pipefail", "-c", step["run"]], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert record.read_text().splitlines()[-1] == installs
    assert record.read_text().splitlines()[:3] == ["-m", "pip", "install"]


PREVIEW_CONTEXT = {"secrets": SECRETS, "github": {"token": "ghs_fake", "run_id": "4242", "repository": "acme/cc",
                                                  "event": {"pull_request": {"number": 17}}}}


def test_preview_job_comments_why_a_preview_was_refused(gh_sandbox: GitHubSandbox, project: Path):
    """The error (another pull request's preview is open) is on stderr: it goes into the comment."""
    gh_sandbox.fake_program("twideploy", f'''\
        echo "error: preview pr-3 is open on staging; end it first with twideploy preview --env staging --clear \
--label pr-3 ({SECRETS['CRM_TOKEN']})" >&2
        exit 1
    ''')
    run = run_job(gh_sandbox, "preview.yml", "preview", project, PREVIEW_CONTEXT)
    assert not run.ok and run.failed == "Preview" and run.ran[-2:] == ["Preview", "Comment how to try it"]
    assert [c["argv"][:3] for c in gh_sandbox.gh_calls()] == [["pr", "comment", "17"]]
    comment = (project / "comment.md").read_text()
    assert "error: preview pr-3 is open on staging" in comment and "+ twideploy" not in comment
    assert SECRETS["CRM_TOKEN"] not in comment and "***" in comment


@pytest.mark.parametrize("error, ok", [
    ("error: the preview open on staging is pr-3, not pr-17 (clear it with --label pr-3)", True),
    ("error: preview pr-17 not fully cleared, 1 step(s) failed: HTTP 503", False),
])
def test_clear_job_fails_unless_the_open_preview_is_another_pull_requests(gh_sandbox: GitHubSandbox,
                                                                          project: Path, error: str, ok: bool):
    gh_sandbox.fake_program("twideploy", f'echo "{error}" >&2\nexit 1\n')
    context = {**PREVIEW_CONTEXT, "github": {**PREVIEW_CONTEXT["github"], "event": {
        "action": "closed", "pull_request": {"number": 17}}}}
    run = run_job(gh_sandbox, "preview.yml", "clear", project, context)
    assert run.ok is ok and error in run.log, run.log
    assert ("::warning::the open preview is not pr-17's" in run.log) is ok
