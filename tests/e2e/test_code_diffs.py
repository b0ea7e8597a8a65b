"""Code diffs in plans: an updated function shows the lines that changed (live code, served by
the emulator as Twilio serves it, against the local file), capped, with secrets masked; an
updated asset shows its size and hashes. Everything runs against the emulator."""

from __future__ import annotations

import json
from pathlib import Path

from twideploy.providers.serverless import MAX_DIFF_LINES

from .helpers import commit_all, make_repo, run

LOOKUP = "functions/crm/functions/lookup.js"


def deployed(project_dir: Path) -> None:
    code, out = run(project_dir, "apply", "--env", "local", "--auto-approve")
    assert code == 0, out


def plan(project_dir: Path, fmt: str, *more: str) -> str:
    code, out = run(project_dir, "plan", "--env", "local", "--format", fmt, "--detailed-exitcode", *more)
    assert code == 2, out
    assert "Traceback" not in out
    return out


def edit(project_dir: Path, old: str, new: str) -> None:
    path = project_dir / LOOKUP
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def json_change(out: str, address: str) -> dict:
    return next(c for c in json.loads(out)["changes"] if c["address"] == address)


def test_a_code_change_shows_the_changed_lines(project_dir, cli_env, tmp_path):
    deployed(project_dir)
    edit(project_dir, "timeout: Number(context.LOOKUP_TIMEOUT_MS || 3000)",
         "timeout: Number(context.LOOKUP_TIMEOUT_MS || 1500)")
    old = "-      timeout: Number(context.LOOKUP_TIMEOUT_MS || 3000),"
    new = "+      timeout: Number(context.LOOKUP_TIMEOUT_MS || 1500),"

    text = plan(project_dir, "text")
    assert old in text and new in text
    assert "--- live /lookup" in text and "+++ local /lookup" in text

    markdown = plan(project_dir, "markdown")
    # in the ```diff block the sign stays in the first column, where GitHub colours by it
    assert "\n-           timeout: Number(context.LOOKUP_TIMEOUT_MS || 3000),\n" in markdown
    assert "\n+           timeout: Number(context.LOOKUP_TIMEOUT_MS || 1500),\n" in markdown

    change = json_change(plan(project_dir, "json"), "service.crm.function./lookup")
    assert old in change["diff"] and new in change["diff"]
    assert sum(line.startswith(("+", "-")) and not line.startswith(("+++", "---")) for line in change["diff"]) == 2


def test_a_long_diff_is_capped_with_the_number_of_lines_left_out(project_dir, cli_env):
    deployed(project_dir)
    live_lines = len((project_dir / LOOKUP).read_text().splitlines())
    (project_dir / LOOKUP).write_text("".join(f"// line {i}\n" for i in range(200)))  # no line in common
    diff = json_change(plan(project_dir, "json"), "service.crm.function./lookup")["diff"]
    total = 3 + live_lines + 200  # two file headers, one hunk header, every line removed and added
    assert diff[:MAX_DIFF_LINES] == diff[:-1] and len(diff) == MAX_DIFF_LINES + 1
    assert diff[-1] == f"... {total - MAX_DIFF_LINES} more lines"
    assert f"... {total - MAX_DIFF_LINES} more lines" in plan(project_dir, "text")


def test_a_secret_in_code_is_masked_in_the_diff(project_dir, cli_env, tmp_path):
    deployed(project_dir)
    edit(project_dir, "const UNKNOWN", "const TOKEN = 'local-dev-token';\nconst UNKNOWN")
    for fmt in ("text", "markdown", "json"):
        out = plan(project_dir, fmt)
        assert "local-dev-token" not in out
        assert "const TOKEN = '***';" in out
    code, out = run(project_dir, "plan", "--env", "local", "--out", str(tmp_path / "plan.json"))
    assert "local-dev-token" not in (tmp_path / "plan.json").read_text()


def test_an_asset_change_shows_its_size_without_an_earlier_copy(project_dir, cli_env):
    deployed(project_dir)  # the project is not in git: no earlier copy of the asset is known
    hold = project_dir / "functions/crm/assets/hold.xml"
    hold.write_text(hold.read_text() + "<!-- longer -->\n")
    change = json_change(plan(project_dir, "json"), "service.crm.asset./hold.xml")
    assert change["diff"] == [f"local: {hold.stat().st_size:,} bytes; no earlier copy with the live hash in git "
                              f"to diff against"]
    assert change["before"]["sha256"][:12] in plan(project_dir, "text")


def test_an_asset_change_is_diffed_against_its_earlier_copy_in_git(project_dir, cli_env):
    repo = make_repo(project_dir)
    deployed(project_dir)
    hold = project_dir / "functions/crm/assets/hold.xml"
    hold.write_text(hold.read_text().replace("</Response>", "  <Say>Still there?</Say>\n</Response>"))
    for _ in ("uncommitted", "committed"):
        change = json_change(plan(project_dir, "json"), "service.crm.asset./hold.xml")
        assert "+  <Say>Still there?</Say>" in change["diff"]
        assert change["diff"][:2] == ["--- live /hold.xml", "+++ local /hold.xml"]
        commit_all(repo, "hold music asks")


def test_a_saved_plan_with_a_diff_applies(project_dir, cli_env, tmp_path):
    deployed(project_dir)
    edit(project_dir, "|| 3000", "|| 1500")
    assert run(project_dir, "plan", "--env", "local", "--out", str(tmp_path / "plan.json"))[0] == 0
    assert json_change((tmp_path / "plan.json").read_text(), "service.crm.function./lookup")["diff"]
    code, out = run(project_dir, "apply", "--env", "local", str(tmp_path / "plan.json"), "--auto-approve")
    assert code == 0, out
    assert run(project_dir, "plan", "--env", "local", "--detailed-exitcode")[0] == 0
