"""The apply scheduler (plan.scheduler) and the undo order read from a journal (executor.undo_waves)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from twideploy.addresses import Address
from twideploy.plan.executor import undo_waves
from twideploy.plan.scheduler import Task, WaveProgress, run_tasks, waves
from twideploy.state import journal as journals


def flow(name: str) -> Address:
    return Address.flow(name)


class Recorder:
    """Tasks that log when they start and finish, and count how many run at once."""

    def __init__(self, seconds: float = 0.02):
        self.seconds, self.events, self.running, self.peak = seconds, [], 0, 0
        self._lock = threading.Lock()

    def task(self, name: str, *needs: str, fail: bool = False) -> Task:
        def run() -> None:
            with self._lock:
                self.events.append(("start", name))
                self.running += 1
                self.peak = max(self.peak, self.running)
            time.sleep(self.seconds / 5 if fail else self.seconds)  # a failure comes first
            with self._lock:
                self.running -= 1
                self.events.append(("end", name))
            if fail:
                raise RuntimeError(f"{name} failed")

        return Task(flow(name), run, frozenset(flow(n) for n in needs))

    def index(self, kind: str, name: str) -> int:
        return self.events.index((kind, name))


def test_a_task_starts_only_after_what_it_needs_finished():
    r = Recorder()
    tasks = [r.task("number", "flow"), r.task("flow", "sub", "build"), r.task("sub", "build"), r.task("build")]
    run_tasks(tasks, workers=16)
    for later, earlier in [("number", "flow"), ("flow", "sub"), ("flow", "build"), ("sub", "build")]:
        assert r.index("start", later) > r.index("end", earlier)


def test_independent_tasks_run_side_by_side_up_to_the_workers():
    r = Recorder(seconds=0.05)
    run_tasks([r.task(f"n{i}") for i in range(40)], workers=8)
    assert r.peak == 8
    one = Recorder(seconds=0.001)
    run_tasks([one.task(f"n{i}") for i in range(10)], workers=1)
    assert one.peak == 1


def test_a_need_no_task_writes_is_already_met():
    r = Recorder()
    run_tasks([r.task("number", "an-existing-flow")], workers=4)
    assert ("end", "number") in r.events


def test_waves_count_the_longest_chain_of_needs():
    r = Recorder()
    tasks = [r.task("a"), r.task("b", "a"), r.task("c", "b", "a"), r.task("d"), r.task("e", "elsewhere")]
    assert waves(tasks) == {flow("a"): 1, flow("b"): 2, flow("c"): 3, flow("d"): 1, flow("e"): 1}


def test_tasks_that_need_each_other_are_refused():
    r = Recorder()
    with pytest.raises(ValueError, match="need each other"):
        waves([r.task("a", "b"), r.task("b", "a")])


def test_after_a_failure_nothing_new_starts_and_the_writes_in_flight_finish():
    r = Recorder(seconds=0.05)
    tasks = [r.task("fails", fail=True), r.task("in-flight"), r.task("after", "fails"), r.task("later", "in-flight")]
    with pytest.raises(RuntimeError, match="fails failed"):
        run_tasks(tasks, workers=2)
    assert ("end", "in-flight") in r.events  # finished, not abandoned
    assert not {("start", "after"), ("start", "later")} & set(r.events)  # nothing scheduled after the failure


def test_the_longest_chain_goes_first():
    """With one worker, the task that three others wait on runs before lone tasks listed earlier."""
    r = Recorder(seconds=0.001)
    tasks = [r.task("lone-1"), r.task("lone-2"), r.task("root"), r.task("x", "root"), r.task("y", "x")]
    run_tasks(tasks, workers=1)
    assert r.events[0] == ("start", "root")


def test_progress_counts_each_wave():
    r = Recorder(seconds=0.001)
    seen: list[WaveProgress] = []
    run_tasks([r.task("a"), r.task("b"), r.task("c", "a")], workers=2, report=seen.append)
    assert sorted((p.wave, p.done, p.total) for p in seen) == [(1, 1, 2), (1, 2, 2), (2, 1, 1)]
    assert {p.waves for p in seen} == {2}


def step(seq: int, done_after: int | None) -> journals.Step:
    return journals.Step(seq, "flow.update", f"flow.f{seq}", {}, {} if done_after is not None else None,
                         done_after=done_after)


def test_a_sequential_journal_is_undone_one_step_at_a_time_newest_first():
    steps = [step(1, 1), step(2, 2), step(3, 3)]
    assert [[s.seq for s in wave] for wave in undo_waves(steps)] == [[3], [2], [1]]


def test_writes_that_were_in_flight_together_are_undone_together_after_what_started_later():
    # 1 and 2 in flight together (both done after 2 began); 3 started after both; 4 began during 3 and never ended
    steps = [step(1, 2), step(2, 2), step(3, 4), step(4, None)]
    assert [[s.seq for s in wave] for wave in undo_waves(steps)] == [[4, 3], [2, 1]]


def test_a_journal_read_back_gives_the_order_apply_had(tmp_path):
    """Appends from many threads: every line whole, seqs unique, and `done_after` the same read
    back from disk as the executor had in memory."""
    path = tmp_path / "deploy.jsonl"
    journal = journals.Journal(journals.JournalFile(path), journals.JournalHeader.for_deploy(
        "local", "AC1", git_sha=None, summary={}, changes=[]))
    in_memory: dict[int, int] = {}
    lock = threading.Lock()

    def write(i: int) -> None:
        seq = journal.intent("flow.update", f"flow.f{i}", {"i": i})
        time.sleep(0.001 * (i % 3))
        after = journal.done(seq, {"sid": f"FW{i}"})
        with lock:
            in_memory[seq] = after

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(write, range(50)))
    journal.finish("applied")
    record = journals.load(path)
    assert record is not None and sorted(s.seq for s in record.steps) == list(range(1, 51))
    assert {s.seq: s.done_after for s in record.steps} == in_memory
    assert all(s.done_after is not None and s.done_after >= s.seq for s in record.steps)


def test_a_done_step_not_saying_when_it_was_done_is_undone_as_if_sequential():
    """A record from a journal that does not tell `done_after` (or an older one): never undone
    side by side with the writes after it."""
    steps = [journals.Step(1, "flow.update", "flow.a", {}, {}), journals.Step(2, "flow.update", "flow.b", {}, {})]
    assert [[s.seq for s in wave] for wave in undo_waves(steps)] == [[2], [1]]
