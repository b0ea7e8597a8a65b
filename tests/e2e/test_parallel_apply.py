"""Apply in dependency waves against the emulator: what a write needs is done before it starts,
independent writes overlap, and the progress shows each wave."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from twideploy import deploy
from twideploy.addresses import Address
from twideploy.plan.scheduler import WaveProgress
from twideploy.providers import flows, numbers
from twideploy.render.progress import ApplyProgress
from twideploy.state import journal as journals
from twideploy.state.paths import StatePaths

from .helpers import open_ws, run


def _steps(project_dir) -> dict[Address, journals.Step]:
    [record] = journals.deploys(StatePaths(project_dir).journal_folder("local"))
    return {Address.parse(step.address): step for step in record.steps}


@pytest.mark.parametrize("parallelism", [1, 16])
def test_each_write_starts_after_what_it_needs_is_done(project_dir, emulator, parallelism):
    ws = open_ws(project_dir, emulator, parallelism=parallelism)
    deploy.apply(ws, deploy.ApplyOptions())
    steps = _steps(project_dir)
    needs = {Address.flow(f.name): flows.needs(f) for f in ws.project.flows.values() if f.name in ws.env.flows}
    needs |= {Address.number(n): numbers.needs(b) for n, b in ws.env.numbers.items()}
    checked = 0
    for address, needed in needs.items():
        for need in needed & steps.keys():
            assert steps[need].done_after is not None and steps[need].done_after < steps[address].seq, \
                f"{address} started before {need} was done"
            checked += 1
    assert checked >= 4  # flows after the crm build and their subflow, numbers after their flows
    if parallelism == 1:  # one at a time: each write is done before the next begins
        assert all(step.done_after == step.seq for step in steps.values())
    else:  # side by side: some write was begun while another was in flight
        assert any(step.done_after is not None and step.done_after > step.seq for step in steps.values())


def test_ci_logs_get_one_line_per_wave(project_dir, cli_env):
    code, out = run(project_dir, "apply", "--env", "local", "--auto-approve")
    assert code == 0, out
    lines = [line for line in out.splitlines() if line.startswith("applying: wave ")]
    waves = int(lines[0].split("/")[1].split()[0])
    assert [line.split()[2] for line in lines] == [f"{k}/{waves}" for k in range(1, waves + 1)]
    assert waves >= 4  # service, then code, build, flows and numbers wait on each other


def test_a_terminal_gets_a_bar_per_wave():
    buffer = io.StringIO()
    with ApplyProgress(Console(file=buffer, force_terminal=True, width=100)) as progress:
        progress("flow.create flow.ivr-main")
        progress(WaveProgress(1, 2, 1, 2))
        progress(WaveProgress(1, 2, 2, 2))
        progress(WaveProgress(2, 2, 1, 1))
    text = buffer.getvalue()
    assert "wave 1/2" in text and "2/2" in text and "wave 2/2" in text and "1/1" in text
    assert "flow.create flow.ivr-main" in text


def test_parallelism_below_one_is_an_error_line(project_dir, cli_env):
    code, out = run(project_dir, "apply", "--env", "local", "--auto-approve", "--parallelism", "0")
    assert code == 1
    assert out.strip() == "error: --parallelism: expected a number of requests in flight, 1 or more; got 0"
    assert cli_env.stats()["writes"] == 0
