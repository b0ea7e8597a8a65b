"""The request overhead of `state: account`: the requests of one apply of the reliability change set
with the example's journals, lock and content hashes in the account's Sync, against local state.

    python -m bench.state_overhead [--repeat 3] [--latency-ms 0]

For each state it copies the example project, deploys it to a fresh in-process emulator account,
applies `reliability.changeset` (every resource kind changes), and counts that apply's requests
through the gateway: the account's resources (Studio, Serverless, numbers) and Sync (twideploy's
state) apart, by method. With a fresh account the first apply also makes the Sync service and
maps; the change set's apply is the second, a steady-state deploy. `--latency-ms` gives every
request that latency: the journal lines of writes in flight together then share Sync appends
(journal.GroupCommit), as they do against Twilio.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

from ruamel.yaml import YAML

from reliability.changeset import apply_change_set
from twideploy import deploy
from twideploy.emulator import Emulator, FaultConfig
from twideploy.manifest import load_project
from twideploy.secrets import Credentials, Secret
from twideploy.twilio_api.gateway import Gateway
from twideploy.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("twideploy.yaml", "environments", "flows", "functions")


def measure(state: str, work: Path, latency_ms: float = 0) -> tuple[Counter[str], Counter[str], float]:
    """(resource requests, Sync requests, seconds) of the change set's apply, by method."""
    root = work / state
    root.mkdir()
    for name in PROJECT_FILES:
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    yaml = YAML()
    env_file = root / "environments/local.yaml"
    data = yaml.load(env_file.read_text())
    data["state"] = state
    yaml.dump(data, env_file)
    with Emulator(work / f"{state}.sqlite") as emu:
        emu.set_faults(FaultConfig(latency_ms=latency_ms))

        def workspace() -> Workspace:
            project = load_project(root)
            env = project.environment("local")
            emu.seed_numbers(list(env.numbers))
            gw = Gateway(Credentials(emu.account_sid, emu.account_sid, Secret(emu.auth_token)), base_url=emu.base_url)
            return Workspace(project, env, gw)

        deploy.apply(workspace(), deploy.ApplyOptions())
        apply_change_set(root)
        ws = workspace()
        started = time.perf_counter()
        outcome = deploy.apply(ws, deploy.ApplyOptions(prune=True)).outcome
        seconds = time.perf_counter() - started
        assert outcome is not None and outcome.deploy_id, "the change set applied nothing"
        return Counter(ws.gateway.requests_by_method), Counter(ws.gateway.state_requests_by_method), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=0, help="each request's latency")
    args = parser.parse_args()
    for state in ("local", "account"):
        for attempt in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="twideploy-state-") as folder:
                resources, sync, seconds = measure(state, Path(folder), args.latency_ms)
            print(f"state: {state:7s} run {attempt + 1}: account resources {sum(resources.values()):3d} requests "
                  f"{dict(sorted(resources.items()))}; Sync {sum(sync.values()):3d} {dict(sorted(sync.items()))}; "
                  f"{seconds:.2f} s")


if __name__ == "__main__":
    main()
