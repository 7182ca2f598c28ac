"""The web application's settings and where it reads the catalog from."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from qrcheck.catalog.load import history_rows, load_catalog
from qrcheck.catalog.model import Catalog
from qrcheck.errors import CatalogError, CatalogInvalid
from qrcheck.links.model import LiveOptions


@dataclass
class WebConfig:
    db: Path
    catalog: Path
    data: Path
    max_upload_mb: int = 40
    max_pixels: int = 60_000_000
    max_files: int = 10
    workers: int = max(1, min(4, (os.cpu_count() or 2) - 1))
    login_attempts: int = 5
    login_window: float = 300.0
    #: failed logins from one address, whatever the names, in `login_window`
    login_per_address: int = 30
    #: password verifications at once (argon2 takes 64 MiB each)
    login_hashing: int = 2
    #: the day the catalog is read for (tests fix it)
    today: Callable[[], date] = field(default=date.today)
    #: live link checks after each photo (None: offline, the catalog comparison only)
    live: LiveOptions | None = field(default_factory=LiveOptions)


class CatalogSource:
    """The catalog, read again when its file changes (e.g. after `qrcheck catalog import`)."""

    def __init__(self, location: Path) -> None:
        self.location = location
        self._stamp: tuple[int, int] | None = None
        #: the file as it was when it last failed to load (not read again until it changes)
        self._refused: tuple[int, int] | None = None
        self._catalog: Catalog | None = None
        self._history: tuple = ()
        self.get()

    def get(self) -> tuple[Catalog, tuple]:
        csv = self.location / "procedures.csv" if self.location.is_dir() else self.location
        try:
            st = csv.stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        changed = stamp is not None and stamp not in (self._stamp, self._refused)
        if self._catalog is None or changed:
            try:  # a damaged file or center.toml is a CatalogError (a sentence), never a 500
                catalog = load_catalog(self.location)
            except CatalogError:
                if self._catalog is None:
                    raise
                self._refused = stamp
                return self._catalog, self._history  # keep serving the last valid one
            if catalog.errors:
                if self._catalog is None:
                    raise CatalogInvalid(list(catalog.issues))
                self._refused = stamp
                return self._catalog, self._history  # keep serving the last valid one
            self._catalog, self._history, self._stamp = catalog, history_rows(catalog), stamp
        assert self._catalog is not None
        return self._catalog, self._history
