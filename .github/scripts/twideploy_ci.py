#!/usr/bin/env python3
"""JSON and text chores of the twideploy CI scripts (stdlib only, so it runs on any runner).

    twideploy_ci.py find-comment MARKER...      < gh api --paginate .../comments
        print the id of the first comment whose body holds every MARKER
    twideploy_ci.py find-issue TITLE            < gh issue list --json number,title
        print the number of the open issue titled exactly TITLE
    twideploy_ci.py payload FILE                print {"body": <FILE's text>} as JSON
    twideploy_ci.py redact FILE                 replace secret values in FILE with ***
    twideploy_ci.py truncate FILE LIMIT NOTE    cut FILE to LIMIT characters, ending with NOTE

`gh api --paginate` prints one JSON array per page, back to back (`[...][...]`); the readers
here accept that. The secrets `redact` knows are the values of the environment variables
named by secret_names(): the Twilio credentials and every name in TWIDEPLOY_MASK_VARS.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

DEFAULT_SECRET_VARS = ("TWILIO_ACCOUNT_SID", "TWILIO_API_KEY", "TWILIO_API_SECRET", "TWILIO_AUTH_TOKEN")
MIN_SECRET_LENGTH = 4  # shorter values would turn ordinary words into *** everywhere
MASK = "***"


def json_values(text: str) -> list[Any]:
    """Every JSON value in `text`, for concatenated documents such as paginated arrays."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    index = 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return values
        value, index = decoder.raw_decode(text, index)
        values.append(value)


def items(text: str) -> list[dict]:
    out: list[dict] = []
    for value in json_values(text):
        out.extend(value if isinstance(value, list) else [value])
    return out


def find_comment(markers: list[str], text: str) -> str | None:
    for comment in items(text):
        body = comment.get("body") or ""
        if all(marker in body for marker in markers):
            return str(comment["id"])
    return None


def find_issue(title: str, text: str) -> str | None:
    # `gh issue list --search` matches words, so "Drift detected in prod" also finds
    # "Drift detected in prod-eu": only an exact title counts.
    for issue in items(text):
        if issue.get("title") == title:
            return str(issue["number"])
    return None


def secret_names() -> list[str]:
    names = list(DEFAULT_SECRET_VARS)
    names += [n for n in os.environ.get("TWIDEPLOY_MASK_VARS", "").replace(",", " ").split() if n not in names]
    return names


def secret_values() -> list[str]:
    values: set[str] = set()
    for name in secret_names():
        value = os.environ.get(name, "")
        for part in [value, *value.splitlines()]:
            part = part.strip()
            if len(part) >= MIN_SECRET_LENGTH:
                values.add(part)
    return sorted(values, key=len, reverse=True)  # longest first: a secret may contain another


def redact(text: str) -> str:
    for value in secret_values():
        text = text.replace(value, MASK)
    return text


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    command, args = argv[0], argv[1:]
    if command == "find-comment" and args:
        found = find_comment(args, sys.stdin.read())
    elif command == "find-issue" and len(args) == 1:
        found = find_issue(args[0], sys.stdin.read())
    elif command == "payload" and len(args) == 1:
        with open(args[0], encoding="utf-8") as f:
            found = json.dumps({"body": f.read()})
    elif command == "redact" and len(args) == 1:
        with open(args[0], encoding="utf-8", errors="replace") as f:
            text = f.read()
        with open(args[0], "w", encoding="utf-8") as f:
            f.write(redact(text))
        return 0
    elif command == "truncate" and len(args) == 3:
        path, limit, note = args[0], int(args[1]), args[2]
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if len(text) > limit:
            text = text[: max(0, limit - len(note) - 2)].rstrip() + "\n\n" + note + "\n"
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return 0
    else:
        print(__doc__, file=sys.stderr)
        return 2
    if found is None:
        return 1
    print(found)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
