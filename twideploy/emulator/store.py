"""SQLite persistence for the emulator: one file, one connection shared by all threads.

Every resource is one row: a unique key (its sid; `FWxxx/3` for a flow revision), a kind,
the owning account, the key of its parent resource (a function's service, a variable's
environment...) and its fields as a JSON document. Deleting a row deletes its descendants.
File contents (function and asset versions) live in `blobs`. A single re-entrant lock
serialises access, so a request's read-check-write sequence is atomic.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_SCHEMA = """
BEGIN;
CREATE TABLE IF NOT EXISTS resources (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    account_sid TEXT NOT NULL,
    parent TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS resources_by_kind ON resources (kind, account_sid, parent, seq);
CREATE INDEX IF NOT EXISTS resources_by_parent ON resources (parent);
CREATE TABLE IF NOT EXISTS blobs (
    key TEXT PRIMARY KEY,
    body BLOB NOT NULL
);
COMMIT;
"""

Record = dict[str, Any]


class Store:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._depth = 0
        self.closed = False
        self._db = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=10
        )
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self.closed = True

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Hold the lock and commit at the end of the outermost block (roll back on error)."""
        with self._lock:
            if self._depth == 0:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if self._depth == 0:
                self._db.execute("COMMIT")

    def insert(self, kind: str, key: str, account_sid: str, parent: str | None, data: Record) -> None:
        with self.transaction():
            self._db.execute(
                "INSERT INTO resources (key, kind, account_sid, parent, data) VALUES (?, ?, ?, ?, ?)",
                (key, kind, account_sid, parent, json.dumps(data)),
            )

    def get(self, kind: str, key: str, account_sid: str, parent: str | None = None) -> Record | None:
        """The record, if it exists, is of `kind`, belongs to the account (and to `parent`)."""
        with self._lock:
            row = self._db.execute(
                "SELECT data, parent FROM resources WHERE key = ? AND kind = ? AND account_sid = ?",
                (key, kind, account_sid),
            ).fetchone()
        if row is None or (parent is not None and row[1] != parent):
            return None
        return json.loads(row[0])

    def put(self, key: str, data: Record) -> None:
        with self.transaction():
            self._db.execute("UPDATE resources SET data = ? WHERE key = ?", (json.dumps(data), key))

    def delete(self, key: str) -> None:
        """Delete a record, its descendants and their blobs."""
        with self.transaction():
            doomed = [key]
            while doomed:
                current = doomed.pop()
                doomed.extend(
                    k for (k,) in self._db.execute("SELECT key FROM resources WHERE parent = ?", (current,))
                )
                self._db.execute("DELETE FROM resources WHERE key = ?", (current,))
                self._db.execute("DELETE FROM blobs WHERE key = ?", (current,))

    def select(
        self,
        kind: str,
        account_sid: str,
        parent: str | None = None,
        *,
        equal: dict[str, Any] | None = None,
        glob: dict[str, str] | None = None,
        offset: int = 0,
        limit: int = -1,
        newest_first: bool = False,
    ) -> list[Record]:
        """Records of a kind in creation order; `equal`/`glob` filter on their JSON fields."""
        sql = ["SELECT data FROM resources WHERE kind = ? AND account_sid = ?"]
        args: list[Any] = [kind, account_sid]
        if parent is not None:
            sql.append("AND parent = ?")
            args.append(parent)
        for op, filters in (("=", equal or {}), ("GLOB", glob or {})):
            for field, value in filters.items():
                sql.append(f"AND json_extract(data, ?) {op} ?")
                args += [f"$.{field}", value]
        sql.append(f"ORDER BY seq {'DESC' if newest_first else 'ASC'} LIMIT ? OFFSET ?")
        args += [limit, offset]
        with self._lock:
            rows = self._db.execute(" ".join(sql), args).fetchall()
        return [json.loads(data) for (data,) in rows]

    def find(self, kind: str, account_sid: str, parent: str | None = None, **equal: Any) -> Record | None:
        found = self.select(kind, account_sid, parent, equal=equal, limit=1)
        return found[0] if found else None

    def put_blob(self, key: str, body: bytes) -> None:
        with self.transaction():
            self._db.execute("INSERT OR REPLACE INTO blobs (key, body) VALUES (?, ?)", (key, body))

    def get_blob(self, key: str) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM blobs WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def wipe(self) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM resources")
            self._db.execute("DELETE FROM blobs")


class Account:
    """The store as one account sees it: lookups and listings see only its records.

    Every account SID is its own isolated account, so one emulator can stand in for several
    Twilio accounts (one per emulated environment).
    """

    def __init__(self, store: Store, sid: str):
        self.store = store
        self.sid = sid

    def get(self, kind: str, key: str, parent: str | None = None) -> Record | None:
        return self.store.get(kind, key, self.sid, parent)

    def insert(self, kind: str, parent: str | None, data: Record, key: str | None = None) -> None:
        """Store a record under `key` (default: its sid)."""
        self.store.insert(kind, key or data["sid"], self.sid, parent, data)

    def select(self, kind: str, parent: str | None = None, **kwargs: Any) -> list[Record]:
        return self.store.select(kind, self.sid, parent, **kwargs)

    def find(self, kind: str, parent: str | None = None, **equal: Any) -> Record | None:
        return self.store.find(kind, self.sid, parent, **equal)

    def put(self, key: str, data: Record) -> None:
        self.store.put(key, data)

    def delete(self, key: str) -> None:
        self.store.delete(key)
