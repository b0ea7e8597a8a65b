"""`state: account`: two checkouts (two project folders, each with its own `.twideploy/`) deploying
to one emulator account share one history and one lock, kept in the account's Sync service.

Everything goes through the CLI or the library over the real SDK to the emulator; A and B
never share a file.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.example import copy_example
from twideploy import deploy
from twideploy.emulator import FaultConfig
from twideploy.errors import ApplyError
from twideploy.state.account_store import (
    LEASE_SECONDS_VARIABLE,
    JournalBlocks,
    SyncAccount,
    journal_map,
    lease_document,
)
from twideploy.state.journal import Journal, JournalHeader
from twideploy.state.paths import StatePaths
from twideploy.twilio_api import gateway as gateway_module
from twideploy.twilio_api import sync

from .helpers import content_fetches, edit_yaml, flow_fetches, open_ws, run, set_greeting
from .snapshot import account_state


def checkout(root: Path, *, state: str = "account") -> Path:
    """A copy of the example whose `local` environment keeps its state in the account."""
    project = copy_example(root)
    edit_yaml(project / "environments/local.yaml", lambda env: env.__setitem__("state", state))
    return project


@pytest.fixture
def a(tmp_path: Path) -> Path:
    return checkout(tmp_path / "a")


@pytest.fixture
def b(tmp_path: Path) -> Path:
    return checkout(tmp_path / "b")


def change_every_kind(project: Path) -> None:
    """A flow widget, a function's code (so a new build), a variable and a number binding."""
    set_greeting(project, "Changed on machine A")
    lookup = project / "functions/crm/functions/lookup.js"
    lookup.write_text(lookup.read_text() + "\n// changed on machine A\n")
    edit_yaml(project / "environments/local.yaml", lambda env: (
        env["services"]["crm"]["variables"].__setitem__("CRM_URL", "https://crm-a.example.com"),
        env["numbers"]["+15005550007"].__setitem__("voice_fallback", "https://example.com/a-down")))


def test_b_sees_a_s_deploys_and_rolls_back_a_s_last_one(a, b, cli_env):
    assert run(a, "apply", "--env", "local", "--auto-approve")[0] == 0
    before = account_state(open_ws(a, cli_env).gateway)
    change_every_kind(a)
    code, out = run(a, "apply", "--env", "local", "--auto-approve")
    assert code == 0, out
    changed = account_state(open_ws(a, cli_env).gateway)
    assert changed != before
    a_ids = [d.deploy_id for d in deploy.history(open_ws(a, cli_env)).deploys]

    report = deploy.history(open_ws(b, cli_env))
    assert [d.deploy_id for d in report.deploys] == a_ids and len(a_ids) == 2
    code, out = run(b, "history", "--env", "local")
    assert code == 0 and a_ids[-1][:13] in out

    code, out = run(b, "rollback", "--env", "local", "--auto-approve")
    assert code == 0, out
    after = account_state(open_ws(b, cli_env).gateway)
    assert after["services"] == before["services"] and after["numbers"] == before["numbers"]
    assert after["flows"] == before["flows"]
    assert run(b, "plan", "--env", "local", "--detailed-exitcode")[0] == 0  # B's manifests are A's first deploy
    # ...and A sees B's rollback: its last deploy counts as reverted
    reverted = {d.deploy_id: d.reverted for d in deploy.history(open_ws(a, cli_env)).deploys}
    assert reverted[a_ids[-1]] is True and reverted[a_ids[0]] is False
    for project in (a, b):
        assert not StatePaths(project).journals.exists()  # nothing journalled on either machine's disk


def test_a_fresh_checkout_plans_with_the_content_hashes_a_kept_in_the_account(a, b, tmp_path, cli_env):
    assert run(a, "apply", "--env", "local", "--auto-approve")[0] == 0
    assert not StatePaths(b).root.exists()  # B is a fresh checkout: no cache, no journals
    before = content_fetches(cli_env), flow_fetches(cli_env)
    assert not deploy.plan(open_ws(b, cli_env)).plan.has_changes
    # the hashes came from the account's Sync, the flows' from their revisions' commit messages
    assert (content_fetches(cli_env), flow_fetches(cli_env)) == before
    # the same fresh checkout with state on disk fetches function code, and cannot know the asset's
    local = checkout(tmp_path / "local", state="local")
    unknown = deploy.plan(open_ws(local, cli_env)).plan.actionable
    assert content_fetches(cli_env) > before[0]
    assert [str(c.address) for c in unknown if c.kind == "asset"] == ["service.crm.asset./hold.xml"]


def test_b_is_refused_while_a_holds_the_lock_and_waits_for_it_with_lock_timeout(a, b, cli_env):
    ws_a = open_ws(a, cli_env)
    with ws_a.store.lock("apply"):
        code, out = run(b, "apply", "--env", "local", "--auto-approve")
        assert code == 1
        assert f"environment local is locked by another twideploy run ({os.uname().nodename} pid {os.getpid()} " \
               f"(apply since" in out and "--lock-timeout" in out
        assert account_state(ws_a.gateway)["flows"] == {}  # B wrote nothing

    releaser = threading.Timer(1.5, lambda: held.__exit__(None, None, None))
    held = ws_a.store.lock("apply")
    held.__enter__()
    releaser.start()
    started = time.monotonic()
    code, out = run(b, "apply", "--env", "local", "--auto-approve", "--lock-timeout", "30")
    assert code == 0, out
    assert time.monotonic() - started >= 1.4  # it waited for A
    assert len(account_state(ws_a.gateway)["flows"]) == 3  # B deployed them


HOLD_LOCK = """
import sys, time
from pathlib import Path
from twideploy.workspace import open_workspace
with open_workspace(Path(sys.argv[1]), "local") as ws:
    with ws.store.lock("apply"):
        print("held", flush=True)
        time.sleep(600)
"""


def test_a_killed_run_s_lease_expires_and_b_takes_over_naming_it(a, b, cli_env, monkeypatch):
    monkeypatch.setenv(LEASE_SECONDS_VARIABLE, "2")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(a)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ}, cwd=Path(__file__).resolve().parents[2])
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        time.sleep(2.5)  # renewed meanwhile: still held
        code, out = run(b, "apply", "--env", "local", "--auto-approve")
        assert code == 1 and f"pid {holder.pid} (apply since" in out
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    code, out = run(b, "apply", "--env", "local", "--auto-approve", "--lock-timeout", "10")
    assert code == 0, out
    assert f"note: took over the lock of local from {os.uname().nodename} pid {holder.pid} (apply since" in out
    assert "without being released" in out


def test_an_apply_that_loses_its_lease_stops_writing_and_rolls_back(a, cli_env, monkeypatch):
    monkeypatch.setenv(LEASE_SECONDS_VARIABLE, "0.6")
    ws = open_ws(a, cli_env, parallelism=1)  # one write at a time: the pause below holds the whole apply
    before = account_state(ws.gateway)
    writes: list[str] = []

    def steal_at_the_first_write(message: object) -> None:
        if not isinstance(message, str):  # a wave's progress
            return
        writes.append(message)
        if len(writes) != 1:
            return
        service = sync.find_service(ws.gateway)
        assert service is not None
        lease = sync.fetch_document(ws.gateway, service, lease_document("local"))
        assert lease is not None
        sync.update_document(ws.gateway, service, lease_document("local"),
                             {"owner": {"host": "thief", "pid": 1}, "purpose": "apply", "token": "x",
                              "acquired_at": "now", "expires_at": "2999-01-01T00:00:00+00:00"},
                             revision=lease.revision)
        time.sleep(1.0)  # the renewal (every 0.2 s) finds it taken

    with pytest.raises(ApplyError, match="this run lost the lock of local: its lease expired and is now held by "
                                         r"thief pid 1 .*every change made was rolled back"):
        deploy.apply(ws, deploy.ApplyOptions(), progress=steal_at_the_first_write)
    made_after_the_theft = [w for w in writes[1:writes.index("rolling back")] if re.match(r"[a-z_]+\.[a-z_]+ ", w)]
    assert re.match(r"[a-z_]+\.[a-z_]+ ", writes[0]) and made_after_the_theft == []
    assert account_state(ws.gateway) == before
    [record] = open_ws(a, cli_env).store.history().records
    assert record.status == "rolled_back"


def test_sync_out_of_reach_fails_before_any_write(a, cli_env, monkeypatch):
    monkeypatch.setitem(gateway_module.EMULATOR_PATH_PREFIXES, "sync.twilio.com", "/no-sync-here")
    before = cli_env.stats()["writes"]
    code, out = run(a, "apply", "--env", "local", "--auto-approve")
    assert code == 1 and out.startswith("error: the environment's state (state: account) is in the account's "
                                        "Twilio Sync, which cannot be reached: ") and out.count("\n") == 1
    assert cli_env.stats()["writes"] == before


@pytest.mark.parametrize("seconds", ["0", "-5", "nan", "a minute"])
def test_a_lease_length_that_is_no_positive_number_is_refused_before_any_write(a, cli_env, monkeypatch, seconds):
    monkeypatch.setenv(LEASE_SECONDS_VARIABLE, seconds)
    before = cli_env.stats()["writes"]
    code, out = run(a, "apply", "--env", "local", "--auto-approve")
    assert (code, out) == (1, f"error: TWIDEPLOY_LEASE_SECONDS={seconds!r} is not a number of seconds above 0\n")
    assert cli_env.stats()["writes"] == before


def test_local_journals_migrate_once_and_b_then_sees_them(tmp_path, b, cli_env):
    a = checkout(tmp_path / "laptop", state="local")
    assert run(a, "apply", "--env", "local", "--auto-approve")[0] == 0
    set_greeting(a, "second")
    assert run(a, "apply", "--env", "local", "--auto-approve")[0] == 0
    local_ids = [d.deploy_id for d in deploy.history(open_ws(a, cli_env)).deploys]
    edit_yaml(a / "environments/local.yaml", lambda env: env.__setitem__("state", "account"))

    code, out = run(a, "state", "migrate", "--env", "local")
    assert code == 0 and out.count(": uploaded (deploy, applied)") == 2 and "content hashes:" in out
    code, out = run(a, "state", "migrate", "--env", "local")
    assert code == 0 and out.count(": already in the account") == 2
    assert [d.deploy_id for d in deploy.history(open_ws(b, cli_env)).deploys] == local_ids
    code, out = run(b, "state", "show", "--env", "local")
    assert code == 0 and "state of local: account (Sync service twideploy" in out
    assert "lock: free, released at" in out
    assert run(b, "rollback", "--env", "local", "--auto-approve")[0] == 0  # B undoes the laptop's last deploy
    assert run(a, "plan", "--env", "local", "--detailed-exitcode")[0] == 2  # the laptop's greeting is gone


def test_a_migrate_cut_short_is_completed_and_a_journal_written_since_is_kept(tmp_path, cli_env):
    laptop = checkout(tmp_path / "laptop", state="local")
    assert run(laptop, "apply", "--env", "local", "--auto-approve")[0] == 0
    set_greeting(laptop, "second")
    assert run(laptop, "apply", "--env", "local", "--auto-approve")[0] == 0
    first, second = (r.source.path.read_text() for r in open_ws(laptop, cli_env).store.history().records)
    edit_yaml(laptop / "environments/local.yaml", lambda env: env.__setitem__("state", "account"))
    ws = open_ws(laptop, cli_env)
    first_id, second_id = (json.loads(text.splitlines()[0])["deploy_id"] for text in (first, second))
    JournalBlocks(SyncAccount(ws.gateway), "local", first_id, []).append_text(first[:100])  # killed mid-upload
    JournalBlocks(SyncAccount(ws.gateway), "local", second_id, []).append_text(second + "{\"type\": \"x\"}\n")

    code, out = run(laptop, "state", "migrate", "--env", "local")
    assert code == 0 and f"{first_id}: uploaded (deploy, applied)" in out, out
    assert f"{second_id}: the account's journal differs from the local one" in out
    texts = {r.deploy_id: r.source.text for r in open_ws(laptop, cli_env).store.history().records}
    assert texts == {first_id: first, second_id: second + "{\"type\": \"x\"}\n"}


def test_state_migrate_of_a_local_environment_says_what_to_change(tmp_path, cli_env):
    project = checkout(tmp_path / "p", state="local")
    code, out = run(project, "state", "migrate", "--env", "local")
    assert code == 1 and out == "error: environment local keeps its state in this checkout (state: local); " \
                                "set `state: account` in local.yaml to keep it in the account, then migrate\n"


def test_state_show_of_local_state_says_who_holds_the_file_lock(tmp_path, cli_env):
    project = checkout(tmp_path / "p", state="local")
    assert run(project, "apply", "--env", "local", "--auto-approve")[0] == 0
    code, out = run(project, "state", "show", "--env", "local")
    assert code == 0 and "state of local: local (journals under" in out and "lock: free (file lock" in out
    with open_ws(project, cli_env).store.lock("apply"):
        code, out = run(project, "state", "show", "--env", "local", "--format", "json")
    shown = json.loads(out)
    assert shown["kind"] == "local" and shown["lock"].startswith(f'held by {{"pid": {os.getpid()}, ')
    assert len(shown["deploys"]) == 1
    assert shown["content_hashes"] > 0 and shown["unfinished"] == []


def test_journal_lines_longer_than_a_block_and_concurrent_appends_read_back_whole(a, cli_env):
    ws = open_ws(a, cli_env)
    account = SyncAccount(ws.gateway)
    header = JournalHeader.for_deploy("local", ws.gateway.account_sid, git_sha=None, summary={}, changes=[])
    blocks = JournalBlocks(account, "local", header.deploy_id, [], block_bytes=600)
    journal = Journal(blocks, header)
    big = {"definition": "é\"x\n" * 400}  # escapes grow it past several blocks

    def write(i: int) -> None:
        seq = journal.intent("flow.update", f"flow.f{i}", big if i == 0 else {"i": i})
        journal.done(seq, {"sid": f"FW{i}"})
    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    journal.finish("applied")

    assert len(blocks.blocks) > 5
    service = account.service(create=False)
    assert service is not None
    for item in sync.list_items(ws.gateway, service, journal_map("local")):
        assert len(item.data["text"].encode()) <= 600
    [record] = ws.store.history().records
    assert record.status == "applied" and sorted(s.seq for s in record.steps) == list(range(1, 9))
    assert {s.address: s.undo for s in record.steps}["flow.f0"] == big
    assert all(s.result == {"sid": "FW" + s.address.removeprefix("flow.f")} for s in record.steps)


def test_sixteen_writes_in_flight_journal_in_a_few_sync_updates_read_back_in_order(a, cli_env):
    """Group commit: the lines of 16 concurrent writes, queued while an append is in flight,
    go in the next append, so the journal costs a few Sync requests, not one per line."""
    cli_env.set_faults(FaultConfig(latency_ms=50))  # each append a round trip the others queue behind
    ws = open_ws(a, cli_env)
    header = JournalHeader.for_deploy("local", ws.gateway.account_sid, git_sha=None, summary={}, changes=[])
    journal = Journal(JournalBlocks(SyncAccount(ws.gateway), "local", header.deploy_id, []), header)
    requests_before = sum(ws.gateway.state_requests_by_method.values())
    all_queued = threading.Barrier(16)

    def intent(i: int) -> None:
        all_queued.wait()
        journal.intent("number.update", f"number.+1500555{i:04d}", {"i": i})
    threads = [threading.Thread(target=intent, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    requests = sum(ws.gateway.state_requests_by_method.values()) - requests_before
    assert requests <= 4, f"{requests} Sync requests for 16 journal lines"
    [record] = ws.store.history().records
    assert [s.seq for s in record.steps] == list(range(1, 17))  # stored in the order the seqs were given
    assert sorted(s.undo["i"] for s in record.steps) == list(range(16))



def _most_writes_under_way(project: Path, cli_env) -> int:
    """The most writes journalled as begun and not yet done at one point of the last deploy."""
    [record] = open_ws(project, cli_env).store.history().records
    spans = [(step.seq, step.done_after) for step in record.steps if step.done_after is not None]
    return max(sum(begun <= seq <= done for begun, done in spans) for seq, _ in spans)


@pytest.mark.parametrize("parallelism", [1, 2])
def test_with_the_journal_in_the_account_more_writes_are_under_way_than_requests_in_flight(
        a, cli_env, parallelism):
    """Each write also waits for two journal round trips in which it sends nothing; more writes
    are under way than `--parallelism` so the request slots are not idle meanwhile (the gateway
    still sends at most `--parallelism` requests at once), except at 1: one write at a time."""
    cli_env.set_faults(FaultConfig(latency_ms=30))
    code, out = run(a, "apply", "--env", "local", "--auto-approve", "--parallelism", str(parallelism))
    assert code == 0, out
    most = _most_writes_under_way(a, cli_env)
    assert most == 1 if parallelism == 1 else most > parallelism
