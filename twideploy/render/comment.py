"""Markdown that fits in one GitHub comment.

GitHub refuses a comment body over 65,536 characters, and a plan of a big change (many
flows, each with a picture) can be longer. Rather than cut the text anywhere (a half
table, an unclosed code block), a renderer describes its comment as a function of how
many flow pictures, detail lines and table rows to show, and `fit` takes away, in this
order, until it fits: pictures (the last first), then detail lines, then table rows. What
the renderer puts around them (the title and the summary line) is never cut.
"""

from __future__ import annotations

from collections.abc import Callable

COMMENT_LIMIT = 64_000
"""GitHub's 65,536 less room for what plan-comment.sh adds (an environment marker, a link to the run)."""

Build = Callable[[int, int, int], str]
"""(pictures, detail lines, table rows) to show -> the markdown."""


def fit(build: Build, pictures: int, details: int, rows: int, limit: int = COMMENT_LIMIT) -> str:
    """`build` with as much as fits in `limit` characters: all of it when it fits."""
    text = build(pictures, details, rows)
    if len(text) > limit:
        pictures = _most(lambda n: build(n, details, rows), pictures, limit)
        text = build(pictures, details, rows)
    if len(text) > limit:
        details = _most(lambda n: build(0, n, rows), details, limit)
        text = build(0, details, rows)
    if len(text) > limit:
        rows = _most(lambda n: build(0, 0, n), rows, limit)
        text = build(0, 0, rows)
    return text


def _most(build: Callable[[int], str], count: int, limit: int) -> int:
    """The largest n <= count with len(build(n)) <= limit (0 when none fits): a binary search,
    as the text grows with n."""
    low, high = 0, count
    while low < high:
        middle = (low + high + 1) // 2
        if len(build(middle)) <= limit:
            low = middle
        else:
            high = middle - 1
    return low


def cut_note(left_out: int, what: str, command: str) -> list[str]:
    """The line that says what `fit` left out and which command shows it all, or none."""
    return [f"... {left_out} more {what}: too long for one comment (`{command}` shows them all)"] if left_out else []
