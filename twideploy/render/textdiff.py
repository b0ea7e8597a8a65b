"""What changed inside a string, for people: the changed words with context, or a unified diff.

A plan that shows the first 80 characters of the old and new text of a 300-character prompt
shows nothing when the change is at the end. Here a changed single-line string is diffed word
by word: the changed words are always shown, with `CONTEXT` words either side to place them,
and only the unchanged stretches between changes are elided. A string of several lines
(Liquid templates, HTTP bodies, code) is a unified diff of its lines instead.

One `StringDiff` is rendered three ways: `plain` (`[-old-]{+new+}`, like `git diff
--word-diff=plain`) for output that is not a terminal and for the drift report's lines,
`markup` (rich colour: deletions red and struck through, insertions green) for a terminal, and
`markdown` (lines starting `-`/`+` in column 0, which a ```diff block colours). The JSON plan
does not use any of them: it keeps before and after values whole.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from rich.markup import escape

CONTEXT = 6  # unchanged words kept either side of a change
UNIFIED_CONTEXT = 2  # unchanged lines kept around a changed line
WHOLE = 78  # one-line strings this short are shown whole, `"old" -> "new"` (see flowdiff._short)
ELIDED = "..."

Segment = tuple[str, str]  # (" ", unchanged text) | ("-", deleted text) | ("+", inserted text)


@dataclass(frozen=True)
class StringDiff:
    """How `label` (e.g. `menu.say`) changed: `words` for one line, else unified diff `lines`."""

    label: str
    words: list[Segment]
    lines: list[str]

    def plain(self) -> list[str]:
        if not self.lines:
            marked = {" ": "{}", "-": "[-{}-]", "+": "{{+{}+}}"}
            return [f'{self.label}: "' + "".join(marked[kind].format(text) for kind, text in self.words) + '"']
        return [f"{self.label}:", *(f"  {line}" for line in self.lines)]

    def markup(self) -> list[str]:
        """Rich console markup; every piece of the strings is escaped."""
        if not self.lines:
            styled = {" ": "{}", "-": "[red strike]{}[/]", "+": "[green]{}[/]"}
            return [f'{escape(self.label)}: "'
                    + "".join(styled[kind].format(escape(text)) for kind, text in self.words) + '"']
        colour = {"-": "red", "+": "green", "@": "cyan"}
        return [escape(f"{self.label}:"), *(
            f"  [{colour[line[0]]}]{escape(line)}[/]" if line[:1] in colour else f"  {escape(line)}"
            for line in self.lines)]

    def markdown(self, indent: str = "    ") -> list[str]:
        """Lines for a ```diff block: the old and new text as `-` and `+` lines in column 0, so
        GitHub colours them; one-line strings show the same stretch of each, changes included."""
        if not self.lines:
            old = "".join(text for kind, text in self.words if kind != "+")
            new = "".join(text for kind, text in self.words if kind != "-")
            return [f"{indent}{self.label}:", f"-{indent}  \"{old}\"", f"+{indent}  \"{new}\""]
        return [f"{indent}{self.label}:", *(
            f"{line[0]}{indent}  {line[1:]}" if line[:1] in "-+ " else f" {indent}  {line}" for line in self.lines)]


def string_diff(label: str, before: object, after: object) -> StringDiff | None:
    """The diff of two strings, or None when a plain `before -> after` reads better: values
    that are not both strings, and one-line strings short enough to be shown whole."""
    if not isinstance(before, str) or not isinstance(after, str) or before == after:
        return None
    multiline = "\n" in before or "\n" in after
    if not multiline and len(before) <= WHOLE and len(after) <= WHOLE:
        return None
    if multiline:
        return StringDiff(label, [], unified(before, after))
    return StringDiff(label, words(before, after), [])


def words(before: str, after: str, context: int = CONTEXT) -> list[Segment]:
    """Word-level segments of a one-line change; unchanged stretches longer than twice the
    context keep `context` words at each end (at the string's ends, only the inner side).

    A space that is all two changes share joins them, so a rewritten phrase reads as one
    `[-old phrase-]{+new phrase+}`, not word against word.
    """
    old, new = _tokens(before), _tokens(after)
    segments: list[Segment] = []
    deleted = inserted = ""
    opcodes = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    for index, (op, i1, i2, j1, j2) in enumerate(opcodes):
        first, last = index == 0, index == len(opcodes) - 1
        if op == "equal" and (first or last or not "".join(old[i1:i2]).isspace()):
            segments += [(kind, text) for kind, text in (("-", deleted), ("+", inserted)) if text]
            deleted = inserted = ""
            segments.append((" ", _elide(old[i1:i2], context, first=first, last=last)))
        else:
            deleted, inserted = deleted + "".join(old[i1:i2]), inserted + "".join(new[j1:j2])
    return segments + [(kind, text) for kind, text in (("-", deleted), ("+", inserted)) if text]


def unified(before: str, after: str, context: int = UNIFIED_CONTEXT) -> list[str]:
    """A unified diff of the lines (`@@` hunk headers kept, `---`/`+++` file headers dropped)."""
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=context)
    return [line for line in diff if not line.startswith(("---", "+++"))]


def _tokens(text: str) -> list[str]:
    """Words and the whitespace between them, so that joining the tokens gives the text back."""
    return re.findall(r"\s+|\S+", text)


def _elide(tokens: list[str], context: int, *, first: bool, last: bool) -> str:
    """`tokens` joined, with the middle replaced by `...` when more than the context words."""
    word_count = sum(1 for t in tokens if not t.isspace())
    keep_head = 0 if first else context
    keep_tail = 0 if last else context
    if word_count <= keep_head + keep_tail + 1:
        return "".join(tokens)
    head, tail, seen = 0, len(tokens), 0
    while seen < keep_head or (head < tail and tokens[head].isspace()):  # the words, then their space
        seen += not tokens[head].isspace()
        head += 1
    seen = 0
    while seen < keep_tail or (tail > head and tokens[tail - 1].isspace()):
        tail -= 1
        seen += not tokens[tail].isspace()
    return "".join(tokens[:head]) + ELIDED + "".join(tokens[tail:])
