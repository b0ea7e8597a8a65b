"""What each action looks like, shared by the text and markdown renderers."""

from twideploy.plan.model import Action, Change

SYMBOL = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-", Action.NOOP: " ", Action.UNMANAGED: "?"}
STYLE = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.DELETE: "red", Action.NOOP: "dim",
         Action.UNMANAGED: "dim"}


def field_lines(change: Change) -> list[str]:
    """`key: before -> after` for the plain fields of a change (not flow widgets)."""
    before, after = change.before or {}, change.after or {}
    lines = []
    for key in sorted(set(before) | set(after)):
        if key in ("revision", "sid", "build_sid"):
            continue
        old, new = _short_hash(key, before.get(key)), _short_hash(key, after.get(key))
        if change.action is Action.CREATE:
            lines.append(f"{key}: {new!r}")
        elif change.action is Action.DELETE:
            lines.append(f"{key}: {old!r}")
        elif old != new and change.after is not None:
            lines.append(f"{key}: {old!r} -> {new!r}")
    return lines


def _short_hash(key: str, value: object) -> object:
    """Content hashes are for machines; people need only enough to tell them apart."""
    return value[:12] if key == "sha256" and isinstance(value, str) else value


def diff_style(line: str) -> str | None:
    """The colour of a line of a change's unified diff on a terminal (file headers stay plain)."""
    if line.startswith(("+++", "---")):
        return None
    return {"+": "green", "-": "red", "@": "cyan"}.get(line[:1])


def markdown_diff_line(line: str) -> str:
    """A line of a change's diff in a markdown ```diff block: GitHub colours a line by its first
    character, so an added or removed line keeps its sign there and is indented after it."""
    if line[:1] in "+-" and not line.startswith(("+++", "---")):
        return f"{line[0]}     {line[1:]}"
    return f"      {line}"
