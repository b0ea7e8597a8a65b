"""The CLI end to end: formats, exit codes, confirmation, lock, killed applies, history, secrets."""

from __future__ import annotations

import json
import time

from twideploy.state.lock import environment_lock
from twideploy.state.paths import StatePaths

from .helpers import edit_yaml, kill_after, open_ws, run, set_greeting
from .snapshot import account_state

SECRET = "tok-9f8e7d6c5b4a"


def test_detailed_exitcode_and_formats(project_dir, cli_env):
    code, out = run(project_dir, "plan", "--env", "local", "--format", "json", "--detailed-exitcode")
    assert code == 2
    plan = json.loads(out)
    assert plan["format_version"] == 1 and plan["environment"] == "local"
    assert plan["summary"]["create"] > 0
    assert {"kind", "address", "action", "before", "after", "widgets"} <= set(plan["changes"][0])

    code, out = run(project_dir, "plan", "--env", "local", "--format", "markdown")
    assert code == 0 and out.startswith("<!-- twideploy-plan -->") and "| `+` | `flow.ivr-main` | create |" in out

    code, out = run(project_dir, "plan", "--env", "local")
    assert code == 0 and "+ flow.ivr-main" in out and "to create" in out

    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0
    code, out = run(project_dir, "plan", "--env", "local", "--detailed-exitcode")
    assert code == 0 and "No changes" in out


def test_apply_without_confirmation_writes_nothing(project_dir, cli_env):
    code, out = run(project_dir, "apply", "--env", "local")
    assert code == 1 and "--auto-approve" in out
    assert account_state(open_ws(project_dir, cli_env).gateway)["flows"] == {}


def test_saved_plan_round_trip_through_the_cli(project_dir, cli_env, tmp_path):
    saved = tmp_path / "plan.json"
    assert run(project_dir, "plan", "--env", "local", "--out", str(saved))[0] == 0
    code, out = run(project_dir, "apply", str(saved))
    assert code == 0 and "Apply complete" in out
    code, out = run(project_dir, "apply", str(saved))  # the account moved: the plan is stale now
    assert code == 1 and "changed since the plan was made" in out


def test_secrets_never_appear_in_output_plan_files_or_journals(project_dir, cli_env, tmp_path):
    edit_yaml(project_dir / "environments/local.yaml",
              lambda env: env["services"]["crm"]["variables"].__setitem__("CRM_TOKEN", {"secret": SECRET}))
    saved = tmp_path / "plan.json"
    outputs = [run(project_dir, "plan", "--env", "local", "--out", str(saved), "-v")[1],
               run(project_dir, "plan", "--env", "local", "--format", "json")[1],
               run(project_dir, "plan", "--env", "local", "--format", "markdown")[1],
               run(project_dir, "apply", "--env", "local", "--auto-approve")[1]]
    edit_yaml(project_dir / "environments/local.yaml",
              lambda env: env["services"]["crm"]["variables"].__setitem__("CRM_TOKEN", {"secret": SECRET + "-2"}))
    outputs += [run(project_dir, "plan", "--env", "local")[1],
                run(project_dir, "apply", "--env", "local", "--auto-approve")[1],
                run(project_dir, "rollback", "--env", "local", "--auto-approve")[1],
                run(project_dir, "history", "--env", "local", "--format", "json")[1]]
    written = [saved.read_text()] + [p.read_text() for p in (project_dir / ".twideploy").rglob("*.json*")]
    assert "CRM_TOKEN" in "".join(outputs)  # the variable is there, its value is not
    for text in outputs + written:
        assert SECRET not in text


def test_second_apply_waits_for_or_fails_on_the_lock(project_dir, cli_env):
    with environment_lock(StatePaths(project_dir), "local", purpose="test"):
        code, out = run(project_dir, "apply", "--env", "local", "--auto-approve")
    assert code == 1 and "is locked by another twideploy run" in out and '"purpose": "test"' in out
    assert account_state(open_ws(project_dir, cli_env).gateway)["flows"] == {}


def test_killed_apply_is_detected_and_can_be_undone(project_dir, cli_env, parallelism):
    before = account_state(open_ws(project_dir, cli_env).gateway)
    kill_after(project_dir, cli_env, ["apply", "--env", "local", "--auto-approve"], done_writes=3)
    assert account_state(open_ws(project_dir, cli_env).gateway) != before  # it got somewhere

    code, out = run(project_dir, "apply", "--env", "local", "--auto-approve")
    assert code == 1 and "was interrupted after" in out and "twideploy rollback --env local" in out
    code, out = run(project_dir, "rollback", "--env", "local", "--auto-approve")
    assert code == 0, out
    assert account_state(open_ws(project_dir, cli_env).gateway) == before
    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0


def test_abandoning_an_interrupted_deploy_converges(project_dir, cli_env, parallelism):
    kill_after(project_dir, cli_env, ["apply", "--env", "local", "--auto-approve"], done_writes=1)
    code, out = run(project_dir, "apply", "--env", "local", "--auto-approve", "--abandon-unfinished")
    assert code == 0, out
    code, out = run(project_dir, "plan", "--env", "local", "--detailed-exitcode")
    assert code == 0


def test_history_links_deploys_to_revisions(project_dir, cli_env):
    run(project_dir, "apply", "--env", "local", "--auto-approve")
    set_greeting(project_dir, "changed")
    run(project_dir, "apply", "--env", "local", "--auto-approve")
    code, out = run(project_dir, "history", "--env", "local", "--format", "json")
    data = json.loads(out)
    assert code == 0 and [d["status"] for d in data["deploys"]] == ["applied", "applied"]
    second = data["deploys"][1]
    assert second["changes"] == ["flow.ivr-main"]
    ivr = next(revs for name, revs in data["flow_revisions"].items() if "ivr" in name.lower())
    assert [r["revision"] for r in ivr] == [2, 1]
    assert second["deploy_id"] in ivr[0]["commit_message"]
    code, table = run(project_dir, "history", "--env", "local")  # not a terminal, as in a CI log
    assert code == 0 and all(f" {d['deploy_id']} " in table and d["started_at"] in table for d in data["deploys"])


def test_plan_and_apply_refuse_invalid_manifests_before_any_request(project_dir, cli_env):
    edit_yaml(project_dir / "flows/ivr-main.yaml",
              lambda flow: flow["states"][0]["transitions"][0].__setitem__("next", "no_such_state"))
    before = cli_env.stats()["total"]
    for command in (["plan", "--env", "local"], ["apply", "--env", "local", "--auto-approve"]):
        code, out = run(project_dir, *command)
        assert code == 1 and "flows/ivr-main.yaml:" in out and "no_such_state" in out
    assert cli_env.stats()["total"] == before


def test_plan_out_into_a_folder_that_does_not_exist(project_dir, cli_env, tmp_path):
    saved = tmp_path / "plans" / "staging" / "plan.json"
    code, out = run(project_dir, "plan", "--env", "local", "--out", str(saved))
    assert code == 0, out
    assert json.loads(saved.read_text())["environment"] == "local"


def test_apply_of_a_malformed_plan_file_is_an_error_not_a_traceback(project_dir, cli_env, tmp_path):
    for text in ("[1, 2]", '{"format_version": 1}', '{"format_version": 1, "environment": "local", '
                 '"account_sid": "AC1", "fingerprint": {}, "changes": [{"kind": "flow"}]}'):
        saved = tmp_path / "plan.json"
        saved.write_text(text)
        code, out = run(project_dir, "apply", str(saved))
        assert code == 1 and out.startswith("error: ") and "not a readable twideploy plan" in out, out


def test_rollback_of_a_killed_apply_undoes_the_variable_create_in_flight(project_dir, cli_env, parallelism):
    """Killed while a create was in flight: the journal has its intent but no result (no SID).
    Twilio still made it, so rollback must find it by its key and delete it. (One at a time,
    NEW_B is sent once NEW_A is done; side by side, NEW_B's answer is held back so the kill
    lands while it is in flight.)"""
    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0
    before = account_state(open_ws(project_dir, cli_env).gateway)
    edit_yaml(project_dir / "environments/local.yaml",
              lambda env: env["services"]["crm"]["variables"].update(NEW_A="a", NEW_B="b"))
    kill_after(project_dir, cli_env, ["apply", "--env", "local", "--auto-approve"], done_writes=1, intents=2,
               slow="Key=NEW_B")  # NEW_B's request is in flight
    journal = sorted(StatePaths(project_dir).journal_folder("local").glob("*.jsonl"))[-1].read_text()
    assert journal.count('"type": "done"') == 1 and journal.count('"type": "intent"') == 2
    time.sleep(0.5)  # the emulator finishes the request the killed client sent
    code, out = run(project_dir, "rollback", "--env", "local", "--auto-approve")
    assert code == 0, out
    assert account_state(open_ws(project_dir, cli_env).gateway) == before


def test_an_unreachable_external_emulator_is_an_error_line(project_dir, monkeypatch):
    monkeypatch.setenv("TWIDEPLOY_EMULATOR_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    code, out = run(project_dir, "plan", "--env", "local")
    assert code == 1 and out.startswith("error: the emulator at TWIDEPLOY_EMULATOR_URL=http://127.0.0.1:9")


def test_an_emulator_that_answers_400_is_reported_as_its_answer(project_dir, cli_env, monkeypatch):
    monkeypatch.setenv("TWIDEPLOY_EMULATOR_ACCOUNT_SID", "not-an-account-sid")
    code, out = run(project_dir, "plan", "--env", "local")
    assert code == 1 and out.startswith(f"error: the emulator at TWIDEPLOY_EMULATOR_URL={cli_env.base_url} "
                                        f"refused to seed the numbers of not-an-account-sid: HTTP 400: "
                                        f"Invalid account_sid 'not-an-account-sid'"), out
    assert "did not answer" not in out and len(out.strip().splitlines()) == 1


def test_a_content_cache_cut_short_is_no_traceback(project_dir, cli_env):
    """A run killed while saving the content cache (apply saves it right after its last write)
    must not break every later plan: the cache is saved atomically, and one that cannot be
    read is only a cache, started afresh."""
    assert run(project_dir, "apply", "--env", "local", "--auto-approve")[0] == 0
    [cache] = (project_dir / ".twideploy" / "cache").glob("content-*.json")
    cache.write_text(cache.read_text()[: len(cache.read_text()) // 2])
    code, out = run(project_dir, "plan", "--env", "local")
    assert code == 0 and "Traceback" not in out, out
    assert json.loads(cache.read_text())  # saved whole again
    assert not [p for p in cache.parent.iterdir() if p.name.startswith(".")]  # no temporary file left
