"""The journal file format with its typed header, the deploy commit message and the state paths."""

from __future__ import annotations

import json
import threading
import time

from hypothesis import given
from hypothesis import strategies as st

from twideploy.state import commits
from twideploy.state import journal as journals
from twideploy.state.journal import Journal, JournalFile, JournalHeader
from twideploy.state.paths import StatePaths, journal_file


def test_a_journal_reads_back_as_written_with_each_kind_writing_only_its_own_header_fields(tmp_path):
    folder = StatePaths(tmp_path).journal_folder("staging")
    deploy = local_journal(folder, JournalHeader.for_deploy("staging", "AC1", git_sha=None, summary={"create": 1},
                                                            changes=["flow.ivr-main"]))
    seq = deploy.intent("flow.create", "flow.ivr-main", {"friendly_name": "IVR"})
    deploy.done(seq, {"sid": "FW1"})
    deploy.finish("applied", writes=1)
    rollback = local_journal(folder, JournalHeader.for_rollback("staging", "AC1", [deploy.deploy_id]))
    written = journals.load(journal_file(folder, deploy.deploy_id))
    journals.append_undone(written, written.steps[0], by=rollback.deploy_id)
    rollback.finish("applied", report=["flow.ivr-main: deleted"])

    lines = [json.loads(line) for line in journal_file(folder, deploy.deploy_id).read_text().splitlines()]
    assert set(lines[0]) == {"type", "format_version", "deploy_id", "environment", "started_at", "kind",
                             "account_sid", "git_sha", "summary", "changes"}
    assert set(json.loads(journal_file(folder, rollback.deploy_id).read_text().splitlines()[0])) == {
        "type", "format_version", "deploy_id", "environment", "started_at", "kind", "account_sid", "reverts"}
    assert journal_file(folder, deploy.deploy_id) == folder / f"{deploy.deploy_id}.jsonl"

    [first, second] = journals.deploys(folder, "AC1")
    assert first.header == deploy.header and second.header == rollback.header
    assert (first.status, first.outcome.at, first.kind) == ("applied", lines[3]["at"], "deploy")
    assert [(s.op, s.address, s.undo, s.result, s.undone) for s in first.steps] == [
        ("flow.create", "flow.ivr-main", {"friendly_name": "IVR"}, {"sid": "FW1"}, True)]
    assert second.header.reverts == (deploy.deploy_id,)
    assert journals.deploys(folder, "AC2") == [] and journals.deploys(folder / "none") == []


def test_a_closed_unfinished_deploy_has_its_outcome_time_at_once(tmp_path):
    journal = local_journal(tmp_path, JournalHeader.for_deploy("local", "AC1", git_sha="abc", summary={}, changes=[]))
    journal.intent("flow.update", "flow.a", {})
    record = journals.load(journal_file(tmp_path, journal.deploy_id))
    assert record.unfinished
    journals.append_outcome(record, "abandoned")
    assert record.outcome == journals.load(journal_file(tmp_path, journal.deploy_id)).outcome and record.outcome.at


def local_journal(folder, header: JournalHeader) -> Journal:
    return Journal(JournalFile(journal_file(folder, header.deploy_id)), header)


sha = st.text("0123456789abcdef", min_size=7, max_size=40)
deploy_ids = st.from_regex(r"\A[0-9]{8}-[0-9]{9}-[0-9a-f]{4}\Z")


@given(deploy_ids, st.none() | sha, st.none() | st.text("0123456789abcdef", min_size=64, max_size=64))
def test_the_deploy_commit_message_parses_back_to_what_it_says(deploy_id, git_sha, definition_hash):
    message = commits.deploy_message(deploy_id, git_sha)
    if definition_hash is not None:
        message = commits.with_definition_hash(message, definition_hash)
    short = definition_hash[:commits.HASH_DIGITS] if definition_hash else None
    assert commits.parse_deploy(message) == commits.DeployCommit(deploy_id, git_sha, short)
    assert commits.is_ours(message)


def test_a_definition_hash_is_read_only_in_full():
    message = commits.deploy_message("20261130-011506123-ab12", "1a2b3c4")
    assert commits.parse_deploy(f"{message} definition 0123456789abcdef").definition_hash == "0123456789abcdef"
    assert commits.parse_deploy(f"{message} definition 0123456789abcde") is None
    assert commits.parse_deploy(f"{message} definition 0123456789abcdef0") is None


def test_other_messages_are_not_deploys():
    assert commits.parse_deploy(commits.rollback_to_revision_message(3)) is None
    assert commits.is_ours(commits.rollback_to_revision_message(3)) and commits.is_ours(commits.RECREATED_MESSAGE)
    assert commits.parse_deploy("edited in the console") is None and commits.parse_deploy(None) is None
    assert not commits.is_ours("fix typo") and not commits.is_ours(None)


def test_a_header_line_reads_as_the_typed_header_with_what_it_lacks_defaulted(tmp_path):
    """Headers are read back as written by earlier versions too: no kind is a deploy, and a
    summary or list that is not one is empty rather than an error at every later command."""
    header = JournalHeader.from_dict({"type": "header", "format_version": 1, "deploy_id": "d-1", "environment": "e",
                                      "started_at": "t", "account_sid": "AC1", "summary": ["bad"], "changes": None,
                                      "unknown": "kept out"})
    assert header == JournalHeader("d-1", "e", "t", "deploy", "AC1")
    assert JournalHeader.from_dict(header.to_dict()) == header


class HeldLines:
    """Journal lines whose appends are held until the test lets each one go, recording what each stored."""

    def __init__(self) -> None:
        self.appends: list[str] = []
        self.started = threading.Semaphore(0)
        self.go = threading.Semaphore(0)
        self.fail_next = False

    def append_text(self, text: str) -> None:
        self.started.release()
        assert self.go.acquire(timeout=10)
        if self.fail_next:
            self.fail_next = False
            raise OSError("disk full")
        self.appends.append(text)


def in_thread(call, *args) -> threading.Thread:
    thread = threading.Thread(target=call, args=args, daemon=True)
    thread.start()
    return thread


def test_a_caller_returns_only_once_its_line_is_stored_and_lines_queued_meanwhile_go_in_one_append():
    lines = HeldLines()
    commits = journals.GroupCommit(lines)
    first = in_thread(commits.append, {"n": 0})
    assert lines.started.acquire(timeout=10)  # the first line's append is in flight
    followers = [in_thread(commits.append, {"n": n}) for n in range(1, 6)]
    time.sleep(0.2)
    assert first.is_alive() and all(t.is_alive() for t in followers)  # nothing stored yet: nobody returned
    lines.go.release()  # the first append ends: its caller returns, and one caller stores the other five
    first.join(10)
    assert not first.is_alive() and lines.appends == ['{"n": 0}\n']
    assert lines.started.acquire(timeout=10)
    time.sleep(0.2)
    assert all(t.is_alive() for t in followers)  # their lines are being stored, not yet stored
    lines.go.release()
    for thread in followers:
        thread.join(10)
    assert not any(t.is_alive() for t in followers)
    assert lines.appends == ['{"n": 0}\n', "".join(f'{{"n": {n}}}\n' for n in range(1, 6))]


def test_an_append_that_fails_fails_each_caller_whose_line_it_held_and_the_next_append_goes_on():
    lines = HeldLines()
    commits = journals.GroupCommit(lines)
    errors: list[BaseException] = []

    def append(n: int) -> None:
        try:
            commits.append({"n": n})
        except OSError as error:
            errors.append(error)
    first = in_thread(append, 0)
    assert lines.started.acquire(timeout=10)
    held = [in_thread(append, n) for n in (1, 2)]
    time.sleep(0.2)
    lines.go.release()
    first.join(10)
    assert lines.started.acquire(timeout=10)
    lines.fail_next = True
    lines.go.release()  # the append of lines 1 and 2 fails
    for thread in held:
        thread.join(10)
    assert len(errors) == 2 and lines.appends == ['{"n": 0}\n']
    lines.go.release()
    commits.append({"n": 3})
    assert lines.appends == ['{"n": 0}\n', '{"n": 3}\n']


def test_concurrent_intents_and_dones_of_a_local_journal_read_back_in_seq_order(tmp_path):
    journal = local_journal(tmp_path, JournalHeader.for_deploy("local", "AC1", git_sha=None, summary={}, changes=[]))

    def write(i: int) -> None:
        journal.done(journal.intent("number.update", f"number.+1{i}", {"i": i}), {"sid": f"PN{i}"})
    threads = [in_thread(write, i) for i in range(32)]
    for thread in threads:
        thread.join(10)
    journal.finish("applied")
    record = journals.load(journal_file(tmp_path, journal.deploy_id))
    assert [s.seq for s in record.steps] == list(range(1, 33)) and record.status == "applied"
    assert all(s.result == {"sid": f"PN{s.undo['i']}"} for s in record.steps)
    assert all(s.done_after is not None and s.done_after >= s.seq for s in record.steps)
