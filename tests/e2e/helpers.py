"""What the end-to-end tests share: workspaces on the test's emulator, CLI runs, manifest edits.

Test modules import these from here (and fixtures come from conftest.py), never from one
another, so that each test module can be run, changed or deleted on its own.
"""

from __future__ import annotations

import copy
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import git
from click.testing import CliRunner
from ruamel.yaml import YAML

from twideploy.cli.main import cli
from twideploy.emulator import Emulator, FaultConfig
from twideploy.manifest import load_project
from twideploy.secrets import Secret
from twideploy.state.paths import StatePaths
from twideploy.twilio_api.gateway import DEFAULT_CONCURRENCY, Credentials, Gateway
from twideploy.workspace import Workspace, open_workspace

_yaml = YAML()


def emulator_gateway(emulator: Emulator, **kwargs) -> Gateway:
    """A gateway to the emulator's account, with its own credentials."""
    return Gateway(Credentials(emulator.account_sid, emulator.account_sid, Secret(emulator.auth_token)),
                   base_url=emulator.base_url, **kwargs)


def open_ws(project_dir: Path, emulator: Emulator, env: str = "local", *,
            parallelism: int = DEFAULT_CONCURRENCY) -> Workspace:
    """A workspace on the test's emulator (the same wiring `open_workspace` does for --env local)."""
    project = load_project(project_dir)
    environment = project.environment(env)
    emulator.seed_numbers(list(environment.numbers))
    return Workspace(project, environment, emulator_gateway(emulator, concurrency=parallelism))


def run(project_dir: Path, *args: str) -> tuple[int, str]:
    """`twideploy ARGS --project-dir project_dir` in-process: its exit code and output."""
    result = CliRunner().invoke(cli, [*args, "--project-dir", str(project_dir)], catch_exceptions=False)
    return result.exit_code, result.output


def edit_yaml(path: Path, change) -> None:
    """Apply `change` to the data of a YAML manifest, keeping the rest of the file (comments too)."""
    data = _yaml.load(path.read_text())
    change(data)
    buffer = io.StringIO()
    _yaml.dump(data, buffer)
    path.write_text(buffer.getvalue())


def first_state(flow: dict, *types: str) -> dict:
    return next(s for s in flow["states"] if s["type"] in types)


def set_greeting(project_dir: Path, text: str) -> None:
    """Change one property of one widget: what the IVR's first say-play widget says."""
    edit_yaml(project_dir / "flows/ivr-main.yaml",
              lambda flow: first_state(flow, "say-play")["properties"].__setitem__("say", text))


def add_secret_pin_var(project_dir: Path) -> None:
    """A `pin` var that is secret in `local` (from $LOCAL_PIN) and plain in the other environments."""
    edit_yaml(project_dir / "environments/local.yaml", lambda env: env["vars"].__setitem__(
        "pin", {"secret": "${env:LOCAL_PIN}"}))
    edit_yaml(project_dir / "environments/base.yaml", lambda env: env.setdefault("vars", {}).__setitem__(
        "pin", "0000"))


def tier_condition(flow: dict) -> dict:
    """The one condition of ivr-main's `check_tier` split."""
    split = next(s for s in flow["states"] if s["name"] == "check_tier")
    [condition] = next(t for t in split["transitions"] if t["event"] == "match")["conditions"]
    return condition


def live_flow(ws: Workspace, friendly_name: str):
    """The flow as Studio has it now, fetched through the workspace's gateway."""
    [flow] = [f for f in ws.gateway.client.studio.v2.flows.list() if f.friendly_name == friendly_name]
    return ws.gateway.client.studio.v2.flows(flow.sid).fetch()


def edited(definition: dict, widget: str, **properties) -> dict:
    """A copy of a Studio definition with some properties of one widget changed (a console edit)."""
    definition = copy.deepcopy(definition)
    next(s for s in definition["states"] if s["name"] == widget)["properties"].update(properties)
    return definition


def make_repo(root: Path, message: str = "the example project") -> git.Repo:
    """`root` as a git repository with everything in it committed."""
    repo = git.Repo.init(root)
    with repo.config_writer() as config:
        config.set_value("user", "name", "Test")
        config.set_value("user", "email", "test@example.com")
    (root / ".gitignore").write_text(".twideploy/\n")
    commit_all(repo, message)
    return repo


def commit_all(repo: git.Repo, message: str) -> str:
    repo.git.add(A=True)
    repo.index.commit(message)
    return repo.head.commit.hexsha


def last_journal_header(project_dir: Path, env: str) -> dict:
    """The newest journal's header line, as written, wherever the environment keeps its state."""
    with open_workspace(project_dir, env) as ws:
        return ws.store.history().records[-1].header.to_dict()


def kill_after(project_dir: Path, emulator: Emulator, args: list[str], *, done_writes: int, intents: int = 0,
               slow: str = "") -> None:
    """Run `twideploy ARGS` in a real process, SIGKILL it once `done_writes` writes are journalled
    done and `intents` begun (the writes whose request line `slow` matches take 0.4 s more, to be
    in flight then, and done by the time this returns)."""
    # slow enough to land the kill mid-run
    emulator.set_faults(FaultConfig(latency_ms=150, slow_write_matching=slow, slow_write_s=0.4 if slow else 0))
    env = {
        **os.environ,
        "TWIDEPLOY_EMULATOR_URL": emulator.base_url,
        "TWIDEPLOY_EMULATOR_ACCOUNT_SID": emulator.account_sid,
    }
    process = subprocess.Popen([sys.executable, "-m", "twideploy", *args, "--project-dir", str(project_dir)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal_dir = StatePaths(project_dir).journal_folder("local")
    earlier = set(journal_dir.glob("*.jsonl")) if journal_dir.exists() else set()  # watch this run's journal
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        files = [f for f in journal_dir.glob("*.jsonl") if f not in earlier] if journal_dir.exists() else []
        text = files[0].read_text() if files else ""
        if files and text.count('"type": "done"') >= done_writes and text.count('"type": "intent"') >= intents:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    time.sleep(0.5)  # a request the process had in flight still lands (150 ms latency): let it settle
    emulator.set_faults(FaultConfig())


def content_fetches(emulator) -> int:
    """Function and asset version contents the emulator has served so far."""
    return sum(n for route, n in emulator.stats()["by_route"].items() if route.endswith("/Content"))


def flow_fetches(emulator) -> int:
    """Flows fetched one by one (for their definition: the list gives none) so far."""
    return emulator.stats()["by_route"].get("GET /v2/Flows/<Sid>", 0)
