"""Files written whole or not at all: a crash mid-write never leaves half a file."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

#: The process's umask, read once (reading it means setting it), for the mode of new files.
_UMASK = os.umask(0o022)


def _mode_for(path: Path) -> int:
    """The permission bits a rewritten file should have: the old file's, else the default."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~_UMASK


@contextmanager
def atomic_writer(path: Path, mode: str = "w", **kwargs: object) -> Iterator[IO]:
    """Write to a temporary file beside `path`, then rename it over `path`.

    A crash before the rename leaves the old file untouched; readers never see half a file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:  # type: ignore[call-overload]
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        with suppress(OSError):  # mkstemp makes it private (0600): give the usual rights
            os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_writer(path, "wb") as handle:
        handle.write(data)
