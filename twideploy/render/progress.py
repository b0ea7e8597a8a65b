"""Apply's progress while it runs: how many changes of each wave are done.

On a terminal, a rich progress bar per wave (done/total) and a line naming the latest write;
elsewhere (CI logs), one plain line per wave as it completes, and nothing per write. The
events carry addresses and counts only, never values, so no secret can show.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from twideploy.plan.scheduler import WaveProgress


class ApplyProgress:
    """A `providers.base.Progress` callback that renders to `out`; use it as a context manager.
    The display starts with the first event, so a confirmation asked before it is undisturbed."""

    def __init__(self, out: Console, verb: str = "applying"):
        self.out, self.verb = out, verb
        self._bars: Progress | None = None
        self._waves: dict[int, TaskID] = {}
        self._current: TaskID | None = None
        self._started = time.monotonic()
        self._lock = threading.Lock()

    def __enter__(self) -> ApplyProgress:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._bars is not None:
            self._bars.stop()

    def __call__(self, event: str | WaveProgress) -> None:
        with self._lock:
            if self.out.is_terminal:
                self._show(event)
            elif isinstance(event, WaveProgress) and event.done == event.total:
                self.out.print(f"{self.verb}: wave {event.wave}/{event.waves} done, {event.total} change(s) "
                               f"({time.monotonic() - self._started:.1f} s)")

    def _show(self, event: str | WaveProgress) -> None:
        if self._bars is None:
            self._bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), console=self.out)
            self._current = self._bars.add_task(self.verb, total=None)
            self._bars.start()
        if isinstance(event, str):
            if self._current is not None:
                self._bars.update(self._current, description=f"{self.verb}: {event}")
            return
        if event.wave not in self._waves:
            self._waves[event.wave] = self._bars.add_task(f"wave {event.wave}/{event.waves}", total=event.total)
        self._bars.update(self._waves[event.wave], completed=event.done)
