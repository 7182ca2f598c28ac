"""The history: every check, every code seen, the postings on the walls and what was printed.

One SQLite file (default `data/qrcheck.sqlite` relative to the current folder; `QRCHECK_DB` or
`--db PATH` choose another). The schema carries its version in `PRAGMA user_version` and grows
only through the ordered functions of `MIGRATIONS`: opening a database of an older version
upgrades it in place, each step in its own transaction, without losing a row; a database of a
newer version than this release knows is refused (an older qrcheck must not write into it).

WAL mode, and every write is one transaction: `record_photo` stores one photo's check and all its
codes at once, so a process killed mid-check loses at most the photo it was on. A photo already
recorded (same SHA-256) is skipped, so the same photo never counts twice.

Tables
    checks      one per photo: path, sha256 (unique), time, location, checker version, run
    codes       one per code seen in a photo: procedure, text, corners, grade, score, metrics,
                link status and detail (key + params), action
    postings    the thing on the wall: a decoded text at a location, first and last seen
    prints      what was printed: from the generation manifest (no location) or a posting
                marked replaced with `qrcheck reprint --done` (with its location)
    catalog_versions  each catalog version used or imported: fingerprint (SHA-256 of the CSV),
                      rows, where it came from (an import's file) and what changed
    users       accounts of the web application: name, argon2 hash, role (staff or admin)
    scans       scans of the stable links (`GET /p/{code}`), counted per procedure and day
    scan_clients, scan_salts  today's clients of each stable link (salted hashes; the salt is
                random and per day), so that one client counts once a day
    sessions    logged-in sessions of the web application (SHA-256 of the cookie's id, never
                the id itself), so that restarting the service logs nobody out
"""

from __future__ import annotations

import hmac
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from qrcheck.board.migrations import MIGRATIONS, SCHEMA_VERSION
from qrcheck.board.rounds import ROUND_MINUTES, split_rounds
from qrcheck.errors import QrcheckError

if TYPE_CHECKING:
    from qrcheck.board.results import CheckReport, PhotoResult

DEFAULT_DB = Path("data/qrcheck.sqlite")
#: clients of one address counted per procedure and day (a public wifi's many phones, but not a
#: script that changes its browser's name at every request)
SCAN_CLIENTS_PER_ADDRESS = 100


class StoreError(QrcheckError):
    """The history database cannot be opened or used."""


def default_db_path() -> Path:
    """`QRCHECK_DB`, else `data/qrcheck.sqlite` in the current folder."""
    return Path(os.environ.get("QRCHECK_DB") or DEFAULT_DB)


def now() -> str:
    """A sortable UTC timestamp (microseconds, so two records a moment apart stay ordered)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


# ---------------------------------------------------------------------------------------------
# typed rows


@dataclass(frozen=True)
class Observation:
    """One code seen in one check, with its posting."""

    posting_id: int | None
    location: str
    text: str | None
    procedure: str | None
    grade: str
    score: float
    status: str
    detail_key: str
    detail_params: dict
    action: str
    reason: str | None
    run: str
    checked_at: str
    photo: str
    #: the round of photos (`rounds.py`) this sighting belongs to, e.g. "board-1#3"
    round: str = ""


@dataclass(frozen=True)
class Posting:
    id: int
    location: str
    text: str
    procedure: str | None
    first_seen: str
    last_seen: str


@dataclass(frozen=True)
class User:
    name: str
    password_hash: str
    role: str


@dataclass(frozen=True)
class StoredCode:
    """One code of a stored check, as rounds of photos match them."""

    id: int
    idx: int
    corners: tuple[tuple[float, float], ...]
    text: str | None
    procedure: str | None
    grade: str
    score: float
    action: str
    #: for an undecoded code: what its posting's printed text named (Identification.as_json)
    identified: dict | None


@dataclass(frozen=True)
class RoundPhoto:
    """One photo of a round, with its codes."""

    check_id: int
    photo: str
    #: the photo's name for staff (the file name the phone sent for an upload)
    name: str
    checked_at: str
    run: str
    codes: tuple[StoredCode, ...]
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class Account:
    """An account as the users page lists it (never its password hash)."""

    name: str
    role: str
    created_at: str
    disabled: bool


@dataclass(frozen=True)
class PrintRecord:
    procedure: str
    tag: str
    payload: str
    printed_on: str
    recorded_at: str
    location: str
    source: str
    #: who recorded it (a staff account on the web page, the system user for the CLI)
    who: str = ""


@dataclass(frozen=True)
class TaskDone:
    """A task of a board's to-do list that someone closed."""

    kind: str
    location: str
    subject: str
    who: str
    done_at: str


class Store:
    """The history database; use as a context manager or call `close()`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path), isolation_level=None, timeout=10.0)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError("store.unusable", path=str(path), reason=str(exc)) from exc
        try:
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA busy_timeout = 10000")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise StoreError("store.unusable", path=str(path), reason=str(exc)) from exc
        except StoreError:
            self.db.close()
            raise

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    @property
    def version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        found = self.version
        if found > SCHEMA_VERSION:
            raise StoreError(
                "store.too_new", path=str(self.path), found=found, known=SCHEMA_VERSION
            )
        for number in range(found, SCHEMA_VERSION):
            with self.transaction():
                # another process may have migrated meanwhile: look again inside the lock
                if self.version > number:
                    continue
                MIGRATIONS[number](self.db)
                self.db.execute(f"PRAGMA user_version = {number + 1}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is kept, or none of it."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -----------------------------------------------------------------------------------------
    # checks

    def has_photo(self, sha256: str) -> bool:
        row = self.db.execute("SELECT 1 FROM checks WHERE sha256 = ?", (sha256,)).fetchone()
        return row is not None

    def record_photo(
        self, photo: PhotoResult, run: str, checker: str, name: str = ""
    ) -> int | None:
        """Store one checked photo and its codes in one transaction; the check's id, or None
        when the photo was recorded before (same SHA-256) or could not be read. `name` is the
        photo's name for staff (default: its file name)."""
        if photo.error is not None or not photo.sha256:
            return None
        when = now()
        with self.transaction() as db:
            if self.has_photo(photo.sha256):
                return None
            cursor = db.execute(
                "INSERT INTO checks (run, photo, sha256, checked_at, location, checker, width,"
                " height, name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run,
                    str(photo.path),
                    photo.sha256,
                    when,
                    photo.location,
                    checker,
                    photo.width,
                    photo.height,
                    name or photo.path.name,
                ),
            )
            check_id = int(cursor.lastrowid or 0)
            for index, code in enumerate(photo.codes):
                text = code.located.text
                verdict = code.verdict
                posting_id = None
                if text is not None:
                    posting_id = db.execute(
                        "INSERT INTO postings (location, text, procedure, first_seen, last_seen)"
                        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (location, text) DO UPDATE SET"
                        " last_seen = max(last_seen, excluded.last_seen),"
                        " procedure = coalesce(excluded.procedure, procedure) RETURNING id",
                        (photo.location, text, verdict.procedure, when, when),
                    ).fetchone()[0]
                db.execute(
                    "INSERT INTO codes (check_id, idx, posting_id, procedure, text, corners, grade,"
                    " score, metrics, status, detail_key, detail_params, action, reason,"
                    " identified, crop) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        check_id,
                        index,
                        posting_id,
                        verdict.procedure,
                        text,
                        json.dumps([list(c) for c in code.located.corners]),
                        code.grade.grade,
                        code.grade.score,
                        json.dumps(code.grade.metrics, ensure_ascii=False, default=str),
                        verdict.status,
                        verdict.detail_key,
                        json.dumps(verdict.detail_params, ensure_ascii=False, default=str),
                        code.action,
                        code.reason,
                        json.dumps(code.identified.as_json(), ensure_ascii=False)
                        if code.identified is not None
                        else None,
                        code.crop,
                    ),
                )
        return check_id

    def update_links(self, report: CheckReport, check_ids: dict[str, int]) -> int:
        """After the live checks of a run: store the verdicts that changed (e.g. to `dead`).

        `check_ids` maps a photo's SHA-256 to the check recorded for it in this run."""
        changed = 0
        with self.transaction() as db:
            for photo in report.photos:
                check_id = check_ids.get(photo.sha256)
                if check_id is None:
                    continue
                for index, code in enumerate(photo.codes):
                    verdict = code.verdict
                    cursor = db.execute(
                        "UPDATE codes SET status = ?, detail_key = ?, detail_params = ?,"
                        " action = ? WHERE check_id = ? AND idx = ? AND status != ?",
                        (
                            verdict.status,
                            verdict.detail_key,
                            json.dumps(verdict.detail_params, ensure_ascii=False, default=str),
                            code.action,
                            check_id,
                            index,
                            verdict.status,
                        ),
                    )
                    changed += cursor.rowcount
        return changed

    def round_numbers(self, minutes: int = ROUND_MINUTES) -> dict[int, str]:
        """Each check's round (`rounds.split_rounds`), as "LOCATION#N"."""
        rows = self.db.execute(
            "SELECT id, location, run, checked_at FROM checks ORDER BY location, checked_at, id"
        ).fetchall()
        by_location: dict[str, list[tuple[int, str, str]]] = {}
        for check_id, location, run, checked_at in rows:
            by_location.setdefault(location, []).append((check_id, run, checked_at))
        numbers: dict[int, str] = {}
        for location, checks in by_location.items():
            found = split_rounds([(run, at) for _, run, at in checks], minutes)
            for (check_id, _, _), number in zip(checks, found, strict=True):
                numbers[check_id] = f"{location}#{number}"
        return numbers

    def latest_rounds(self, minutes: int = ROUND_MINUTES) -> dict[str, list[RoundPhoto]]:
        """Each location's latest round of photos, with their codes, oldest photo first."""
        numbers = self.round_numbers(minutes)
        latest: dict[str, str] = {}
        for check_id in sorted(numbers):
            location, _, number = numbers[check_id].rpartition("#")
            held = latest.get(location)
            if held is None or int(number) > int(held):
                latest[location] = number
        wanted = [
            check_id
            for check_id, name in numbers.items()
            if name.rpartition("#")[2] == latest[name.rpartition("#")[0]]
        ]
        rounds: dict[str, list[RoundPhoto]] = {}
        for chunk in range(0, len(wanted), 500):
            ids = sorted(wanted[chunk : chunk + 500])
            marks = ",".join("?" * len(ids))
            checks = self.db.execute(
                "SELECT id, location, photo, name, checked_at, run, width, height FROM checks"
                f" WHERE id IN ({marks}) ORDER BY checked_at, id",
                ids,
            ).fetchall()
            codes: dict[int, list[StoredCode]] = {}
            for row in self.db.execute(
                "SELECT check_id, id, idx, corners, text, procedure, grade, score, action,"
                f" identified FROM codes WHERE check_id IN ({marks}) ORDER BY check_id, idx",
                ids,
            ):
                corners = tuple(tuple(float(v) for v in p) for p in json.loads(row[3]))
                identified = json.loads(row[9]) if row[9] else None
                codes.setdefault(row[0], []).append(
                    StoredCode(*row[1:3], corners, *row[4:9], identified)
                )
            for check_id, location, photo, name, checked_at, run, width, height in checks:
                rounds.setdefault(location, []).append(
                    RoundPhoto(
                        check_id,
                        photo,
                        name or Path(photo).name,
                        checked_at,
                        run,
                        tuple(codes.get(check_id, ())),
                        width,
                        height,
                    )
                )
        for photos in rounds.values():
            photos.sort(key=lambda p: (p.checked_at, p.check_id))
        return rounds

    def crop(self, code_id: int) -> bytes | None:
        """The stored crop of an undecoded code's posting (None when there is none)."""
        row = self.db.execute("SELECT crop FROM codes WHERE id = ?", (code_id,)).fetchone()
        return bytes(row[0]) if row is not None and row[0] is not None else None

    def counts(self) -> dict[str, int]:
        return {
            table: int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in ("checks", "codes", "postings", "prints")
        }

    # -----------------------------------------------------------------------------------------
    # prints

    def record_prints(self, entries: Iterable[PrintRecord]) -> int:
        """Record printed postings (a print already recorded is ignored); how many were new."""
        added = 0
        with self.transaction() as db:
            for entry in entries:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO prints (procedure, tag, payload, printed_on,"
                    " recorded_at, location, source, who) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        entry.procedure,
                        entry.tag,
                        entry.payload,
                        entry.printed_on,
                        entry.recorded_at or now(),
                        entry.location,
                        entry.source,
                        entry.who,
                    ),
                )
                added += cursor.rowcount
        return added

    def record_task_done(self, kind: str, location: str, subject: str, who: str) -> None:
        """Record that a task (take down, check a sticker) at `location` was done by `who`."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO tasks_done (kind, location, subject, who, done_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (kind, location, subject, who, now()),
            )

    def tasks_done(self) -> list[TaskDone]:
        rows = self.db.execute(
            "SELECT kind, location, subject, who, done_at FROM tasks_done ORDER BY done_at"
        ).fetchall()
        return [TaskDone(*row) for row in rows]

    def record_catalog(
        self, fingerprint: str, path: str, rows: int, source: str = "", changes: dict | None = None
    ) -> bool:
        """Record a catalog version (once per fingerprint); True when it was new."""
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO catalog_versions (fingerprint, path, rows, source,"
                " recorded_at, changes) VALUES (?, ?, ?, ?, ?, ?)",
                (fingerprint, path, rows, source, now(), json.dumps(changes or {})),
            )
            return cursor.rowcount > 0

    def catalog_versions(self) -> list[dict]:
        rows = self.db.execute(
            "SELECT fingerprint, path, rows, source, recorded_at, changes FROM catalog_versions"
            " ORDER BY id"
        ).fetchall()
        keys = ("fingerprint", "path", "rows", "source", "recorded_at", "changes")
        return [{**dict(zip(keys, r, strict=True)), "changes": json.loads(r[5])} for r in rows]

    def prints(self) -> list[PrintRecord]:
        rows = self.db.execute(
            "SELECT procedure, tag, payload, printed_on, recorded_at, location, source, who"
            " FROM prints ORDER BY recorded_at"
        ).fetchall()
        return [PrintRecord(*row) for row in rows]

    # -----------------------------------------------------------------------------------------
    # reading

    def postings(self) -> list[Posting]:
        rows = self.db.execute(
            "SELECT id, location, text, procedure, first_seen, last_seen FROM postings"
            " ORDER BY location, procedure, first_seen"
        ).fetchall()
        return [Posting(*row) for row in rows]

    def locations(self) -> list[str]:
        """Every board or counter seen in a check, most recently checked first."""
        rows = self.db.execute(
            "SELECT location FROM checks WHERE location != '' GROUP BY location"
            " ORDER BY max(checked_at) DESC"
        ).fetchall()
        return [r[0] for r in rows]

    # -----------------------------------------------------------------------------------------
    # accounts and stable-link scans (the web application)

    def add_user(self, name: str, password_hash: str, role: str = "staff") -> None:
        """A new account; StoreError `user.exists` when the name is taken (any letter case)."""
        try:
            with self.transaction() as db:
                db.execute(
                    "INSERT INTO users (name, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
                    (name, password_hash, role, now()),
                )
        except sqlite3.IntegrityError as exc:
            raise StoreError("user.exists", name=name) from exc

    def user(self, name: str) -> User | None:
        row = self.db.execute(
            "SELECT name, password_hash, role FROM users WHERE name = ? AND disabled = 0", (name,)
        ).fetchone()
        return User(*row) if row else None

    def set_password_hash(self, name: str, password_hash: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE users SET password_hash = ? WHERE name = ?", (password_hash, name))

    def accounts(self, name: str | None = None) -> list[Account]:
        """Every account (or the one named `name`, in any letter case), disabled ones too."""
        where, params = ("WHERE name = ?", (name,)) if name is not None else ("", ())
        rows = self.db.execute(
            f"SELECT name, role, created_at, disabled FROM users {where}"
            " ORDER BY name COLLATE NOCASE",
            params,
        ).fetchall()
        return [Account(n, role, created, bool(off)) for n, role, created, off in rows]

    def account(self, name: str) -> Account | None:
        """The account named `name` (any letter case), disabled or not."""
        found = self.accounts(name)
        return found[0] if found else None

    def end_sessions(self, name: str) -> int:
        """Log an account out of the web application everywhere; how many sessions ended."""
        with self.transaction() as db:
            return db.execute(
                "DELETE FROM sessions WHERE user = ? COLLATE NOCASE", (name,)
            ).rowcount

    def set_disabled(self, name: str, disabled: bool) -> bool:
        """Disable or enable an account; False when there is no such account."""
        with self.transaction() as db:
            changed = db.execute(
                "UPDATE users SET disabled = ? WHERE name = ?", (int(disabled), name)
            ).rowcount
        return changed > 0

    def record_scan(
        self, procedure: str, day: str, client: str | None = None, address: str = ""
    ) -> bool:
        """Count a scan of `procedure`'s stable link on `day` (ISO date); whether it counted.

        With `client` (what tells one client from another: its address and browser) each client
        counts once a day, and at most `SCAN_CLIENTS_PER_ADDRESS` clients of one `address` (so
        changing the browser's name does not count without end). Both are kept only as hashes
        salted with a random salt of that day, and that day's hashes and salt are deleted the
        next day: the database never holds an address, nor a way to test one for long.
        """
        with self.transaction() as db:
            if client is not None:
                db.execute("DELETE FROM scan_clients WHERE day < ?", (day,))
                db.execute("DELETE FROM scan_salts WHERE day < ?", (day,))
                row = db.execute("SELECT salt FROM scan_salts WHERE day = ?", (day,)).fetchone()
                if row is None:
                    salt = os.urandom(16).hex()
                    db.execute("INSERT INTO scan_salts (day, salt) VALUES (?, ?)", (day, salt))
                else:
                    salt = row[0]
                key = bytes.fromhex(salt)
                client_hash = hmac.new(key, f"{day}\0{client}".encode(), "sha256").hexdigest()
                address_hash = hmac.new(key, f"{day}\0{address}".encode(), "sha256").hexdigest()
                seen = db.execute(
                    "SELECT 1 FROM scan_clients WHERE day = ? AND procedure = ? AND client = ?",
                    (day, procedure, client_hash),
                ).fetchone()
                if seen is not None:
                    return False
                (same_address,) = db.execute(
                    "SELECT count(*) FROM scan_clients WHERE day = ? AND procedure = ?"
                    " AND address = ?",
                    (day, procedure, address_hash),
                ).fetchone()
                if same_address >= SCAN_CLIENTS_PER_ADDRESS:
                    return False
                db.execute(
                    "INSERT INTO scan_clients (day, procedure, client, address)"
                    " VALUES (?, ?, ?, ?)",
                    (day, procedure, client_hash, address_hash),
                )
            db.execute(
                "INSERT INTO scans (procedure, day, count) VALUES (?, ?, 1)"
                " ON CONFLICT (procedure, day) DO UPDATE SET count = count + 1",
                (procedure, day),
            )
        return True

    def scan_counts(self) -> dict[str, int]:
        """Scans of each procedure's stable link, all days together (with clients: distinct
        clients a day, added up over the days)."""
        rows = self.db.execute("SELECT procedure, sum(count) FROM scans GROUP BY procedure")
        return {procedure: int(count) for procedure, count in rows.fetchall()}

    def observations(
        self, posting_ids: Sequence[int] | None = None, minutes: int = ROUND_MINUTES
    ) -> list[Observation]:
        """Every code seen (decoded or not), oldest first, with its round of photos."""
        numbers = self.round_numbers(minutes)
        rows = self.db.execute(
            "SELECT c.posting_id, k.location, c.text, c.procedure, c.grade, c.score, c.status,"
            " c.detail_key, c.detail_params, c.action, c.reason, k.run, k.checked_at, k.photo,"
            " k.id FROM codes c JOIN checks k ON k.id = c.check_id ORDER BY k.checked_at, c.idx"
        ).fetchall()
        wanted = set(posting_ids) if posting_ids is not None else None
        result = []
        for row in rows:
            if wanted is not None and row[0] not in wanted:
                continue
            values = list(row)
            values[8] = json.loads(values[8] or "{}")
            values[-1] = numbers.get(values[-1], "")
            result.append(Observation(*values))
        return result


def latest_state(observations: Iterable[Observation]) -> dict[int, Observation]:
    """Each posting's state: its best-graded sighting in the latest round of photos that saw
    it (as the check keeps the best of several photos of one board)."""
    latest: dict[int, Observation] = {}
    for obs in observations:
        if obs.posting_id is None:
            continue
        held = latest.get(obs.posting_id)
        visit = obs.round or obs.run
        newer_run = held is None or (
            visit != (held.round or held.run) and obs.checked_at > held.checked_at
        )
        better_in_run = (
            held is not None and visit == (held.round or held.run) and obs.score > held.score
        )
        if newer_run or better_in_run:
            latest[obs.posting_id] = obs
    return latest
