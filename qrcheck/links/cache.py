"""Live answers remembered in a SQLite file, so a link checked again within a day is not
fetched again."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from qrcheck.links.model import DEFINITE, Hop, LiveResult

if TYPE_CHECKING:
    pass


def default_cache_path() -> Path:
    """QRCHECK_LINK_CACHE, else the user's cache folder (XDG / LOCALAPPDATA / ~/Library)."""
    explicit = os.environ.get("QRCHECK_LINK_CACHE")
    if explicit:
        return Path(explicit)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "qrcheck" / Path("links").with_suffix(".sqlite")


class LinkCache:
    """Definite live results in SQLite, each with an expiry time. Path None: in memory.

    Results are written in batches (`flush`: every `batch` results, at the end of
    `LinkChecker.check_many`, and on `close`), not one commit per link: a commit waits for the
    disk (0.8 ms here, far more on a slow card) and would hold up the event loop every time.
    A crash loses at most the unwritten batch, which is only a cache.
    """

    def __init__(self, path: Path | None = None, batch: int = 200) -> None:
        self.path = path
        self.batch = batch
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        # a lock held longer than this by another process costs a batch of caching, not a
        # stalled check (the writes run on the checker's event loop)
        self._db = sqlite3.connect(str(path) if path else ":memory:", timeout=2)
        if path is not None:  # several web workers share the file; it is only a cache
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS live (url TEXT PRIMARY KEY, expires REAL, result TEXT)"
        )
        self._db.commit()
        self._pending: dict[str, tuple[float, str]] = {}

    def get(self, url: str, now: float | None = None) -> LiveResult | None:
        row = self._pending.get(url)
        if row is None:
            try:
                row = self._db.execute(
                    "SELECT expires, result FROM live WHERE url = ?", (url,)
                ).fetchone()
            except sqlite3.Error:  # an unreadable cache is no cache, never a failed check
                return None
        if row is None:
            return None
        try:
            if not row[0] >= (now if now is not None else time.time()):  # expired (or NULL)
                return None
            data = json.loads(row[1])
            data["chain"] = tuple(Hop(**h) for h in data["chain"])
            return replace(LiveResult(**data), cached=True)
        except (ValueError, TypeError, KeyError):  # written by another version: check again
            return None

    def put(self, result: LiveResult, ttl: float) -> None:
        if result.status not in DEFINITE or ttl <= 0:
            return
        data = {
            "url": result.url,
            "status": result.status,
            "http_status": result.http_status,
            "final_url": result.final_url,
            "chain": [{"url": h.url, "status": h.status} for h in result.chain],
            "checked_at": result.checked_at,
            "detail_key": result.detail_key,
            "detail_params": result.detail_params,
            "cross_domain": result.cross_domain,
        }
        self._pending[result.url] = (time.time() + ttl, json.dumps(data, ensure_ascii=False))
        if len(self._pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Write the results not yet written, in one transaction. A cache that cannot be
        written (disk full, locked too long) costs only the caching, never the check."""
        if not self._pending:
            return
        rows = [(url, expires, text) for url, (expires, text) in self._pending.items()]
        self._pending.clear()
        try:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO live VALUES (?, ?, ?)", rows)
        except sqlite3.Error:
            pass

    def close(self) -> None:
        self.flush()
        self._db.close()
