"""Run an apply's writes over their dependency graph, as many at once as the gateway allows.

Each provider turns its changes into Tasks: a task is one write (or the few requests that
make one resource, such as a function's create and its upload), named by the address of the
resource it writes, with the addresses it needs finished first (a build needs its functions'
versions, a flow the subflows and functions it runs, a number the flow it points at). A need
that no task of this apply writes is already live, so it is met. A task runs as soon as all
it needs finished, on a pool of `workers` threads; the tasks that wait on nothing make wave 1,
those that wait on wave 1 at most make wave 2, and so on (waves are for progress: a task
does not wait for its whole wave, only for what it needs). Among the runnable tasks, the one
with the longest chain of tasks waiting on it goes first, so the critical path never idles.

On the first failure nothing new starts; the tasks in flight finish (their writes are
journalled, done or not) and the failure is raised, for the executor to roll back.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from twideploy.addresses import Address


@dataclass(frozen=True)
class Task:
    """One write of an apply: `run` makes it (through the journalling writer) once every
    address in `needs` that this apply writes is written."""

    address: Address
    run: Callable[[], object]
    needs: frozenset[Address] = frozenset()


@dataclass(frozen=True)
class WaveProgress:
    """How far one wave is: `done` of its `total` tasks finished (wave numbers start at 1)."""

    wave: int
    waves: int
    done: int
    total: int


WaveReport = Callable[[WaveProgress], None]


def waves(tasks: list[Task]) -> dict[Address, int]:
    """Each task's wave: 1 when it needs no task of `tasks`, else one after its latest need."""
    by_address = _index(tasks)
    wave: dict[Address, int] = {}

    def of(task: Task, path: tuple[Address, ...]) -> int:
        if task.address in wave:
            return wave[task.address]
        if task.address in path:
            raise ValueError(f"tasks that need each other: {' -> '.join(map(str, (*path, task.address)))}")
        needed = [of(by_address[a], (*path, task.address)) for a in task.needs if a in by_address]
        wave[task.address] = 1 + max(needed, default=0)
        return wave[task.address]

    for task in tasks:
        of(task, ())
    return wave


def run_tasks(tasks: list[Task], *, workers: int, report: WaveReport = lambda progress: None) -> None:
    """Run `tasks` in dependency order, up to `workers` at a time; raise the first failure
    once the tasks in flight have finished."""
    by_address = _index(tasks)
    wave = waves(tasks)
    waiting = {t.address: {a for a in t.needs if a in by_address} for t in tasks}
    dependents: dict[Address, list[Address]] = {t.address: [] for t in tasks}
    for task in tasks:
        for need in waiting[task.address]:
            dependents[need].append(task.address)
    height = _heights(dependents, wave)
    order = {t.address: i for i, t in enumerate(tasks)}
    ready = [(-height[a], order[a], a) for a, needs in waiting.items() if not needs]
    heapq.heapify(ready)
    counts = _WaveCounts(wave, report)
    running: dict[Future[object], Address] = {}
    failure: BaseException | None = None
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="apply") as pool:
        while running or (ready and failure is None):
            while ready and failure is None and len(running) < max(1, workers):
                address = heapq.heappop(ready)[2]
                running[pool.submit(by_address[address].run)] = address
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                address = running.pop(future)
                error = future.exception()
                if error is not None:
                    failure = failure or error
                    continue
                counts.finished(address)
                for dependent in dependents[address]:
                    waiting[dependent].discard(address)
                    if not waiting[dependent]:
                        heapq.heappush(ready, (-height[dependent], order[dependent], dependent))
    if failure is not None:
        raise failure


class _WaveCounts:
    """Finished tasks per wave, reported as each one finishes (from the scheduling thread)."""

    def __init__(self, wave: dict[Address, int], report: WaveReport):
        self.wave, self.report = wave, report
        self.waves = max(wave.values(), default=0)
        self.total = {w: 0 for w in range(1, self.waves + 1)}
        for w in wave.values():
            self.total[w] += 1
        self.done = dict.fromkeys(self.total, 0)

    def finished(self, address: Address) -> None:
        w = self.wave[address]
        self.done[w] += 1
        self.report(WaveProgress(w, self.waves, self.done[w], self.total[w]))


def _index(tasks: list[Task]) -> dict[Address, Task]:
    by_address: dict[Address, Task] = {}
    for task in tasks:
        if task.address in by_address:
            raise ValueError(f"two tasks write {task.address}")
        by_address[task.address] = task
    return by_address


def _heights(dependents: dict[Address, list[Address]], wave: dict[Address, int]) -> dict[Address, int]:
    """Each task's longest chain of tasks that wait on it (1 for a task nothing waits on). A
    task's dependents are in later waves, so going through the waves backwards meets them first."""
    height: dict[Address, int] = {}
    for address in sorted(dependents, key=lambda a: -wave[a]):
        height[address] = 1 + max((height[d] for d in dependents[address]), default=0)
    return height
