"""git integration: the SHA a deploy records, the CI dirty-tree guard, deploy tags in history."""

from __future__ import annotations

import json

from .helpers import last_journal_header, make_repo, open_ws, run
from .snapshot import account_state


def test_dirty_tree_is_refused_under_ci_unless_allowed(project_dir, cli_env, monkeypatch):
    repo = make_repo(project_dir)
    flow = project_dir / "flows/ivr-main.yaml"
    flow.write_text(flow.read_text().replace("Goodbye.", "Goodbye for now."))
    monkeypatch.setenv("CI", "true")

    code, out = run(project_dir, "apply", "--env", "local", "--auto-approve")
    assert code == 1
    assert "uncommitted" in out and "flows/ivr-main.yaml" in out and "--allow-dirty" in out
    assert account_state(open_ws(project_dir, cli_env).gateway)["flows"] == {}  # nothing was written

    code, out = run(project_dir, "promote", "--from", "staging", "--to", "prod", "--auto-approve")
    assert code == 1 and "uncommitted" in out  # refused before any account is opened

    code, out = run(project_dir, "apply", "--env", "local", "--auto-approve", "--allow-dirty")
    assert code == 0, out
    assert last_journal_header(project_dir, "local")["git_sha"] == f"{repo.head.commit.hexsha}-dirty"
    live = account_state(open_ws(project_dir, cli_env).gateway)["flows"]["Acme IVR"]
    assert any("Goodbye for now." in json.dumps(s) for s in live["definition"]["states"])


def test_github_actions_counts_as_ci_and_a_clean_tree_passes(project_dir, cli_env, monkeypatch):
    make_repo(project_dir)
    (project_dir / "flows/new-flow.yaml").write_text((project_dir / "flows/subflows/lookup-caller.yaml").read_text()
                                                     .replace("Acme lookup caller", "Another"))
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, out = run(project_dir, "apply", "--env", "local", "--auto-approve")
    assert code == 1 and "flows/new-flow.yaml" in out  # an untracked manifest makes the tree dirty too
    (project_dir / "flows/new-flow.yaml").unlink()
    code, out = run(project_dir, "apply", "--env", "local", "--auto-approve")
    assert code == 0, out


def test_apply_tag_and_history(project_dir, cli_env, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    repo = make_repo(project_dir)
    code, out = run(project_dir, "apply", "--env", "local", "--auto-approve", "--tag")
    assert code == 0, out
    header = last_journal_header(project_dir, "local")
    assert header["git_sha"] == repo.head.commit.hexsha  # clean: no -dirty
    tag = f"twideploy/local/{header['deploy_id']}"
    assert f"Tagged {tag}" in out
    assert repo.tags[tag].commit.hexsha == repo.head.commit.hexsha

    code, out = run(project_dir, "history", "--env", "local", "--format", "json")
    assert code == 0
    [deployed] = [d for d in json.loads(out)["deploys"] if d["deploy_id"] == header["deploy_id"]]
    assert deployed["tag"] == tag and deployed["git_sha"] == repo.head.commit.hexsha
    # every flow revision carries the deploy id and the commit
    flow = account_state(open_ws(project_dir, cli_env).gateway)["flows"]["Acme IVR"]["sid"]
    revision = open_ws(project_dir, cli_env).gateway.client.studio.v2.flows(flow).fetch()
    assert revision.commit_message.startswith(f"twideploy deploy {header['deploy_id']} git {repo.head.commit.hexsha} ")


def test_tag_outside_git_fails_before_writing(project_dir, cli_env):
    code, out = run(project_dir, "apply", "--env", "local", "--auto-approve", "--tag")
    assert code == 1 and "--tag needs a git repository" in out
    assert account_state(open_ws(project_dir, cli_env).gateway)["flows"] == {}
