"""The history's schema, one migration a version: a store written by an older qrcheck is brought
up to date in one transaction; a newer schema than this qrcheck knows is refused.

Append only: never edit a migration that has shipped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable


def _script(db: sqlite3.Connection, sql: str) -> None:
    """Run `sql` statement by statement (executescript would commit the open transaction)."""
    for statement in sql.split(";"):
        if statement.strip():
            db.execute(statement)


def _v1(db: sqlite3.Connection) -> None:
    _script(
        db,
        """
        CREATE TABLE checks (
            id INTEGER PRIMARY KEY,
            run TEXT NOT NULL,
            photo TEXT NOT NULL,
            sha256 TEXT NOT NULL UNIQUE,
            checked_at TEXT NOT NULL,
            location TEXT NOT NULL,
            checker TEXT NOT NULL,
            width INTEGER NOT NULL DEFAULT 0,
            height INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE postings (
            id INTEGER PRIMARY KEY,
            location TEXT NOT NULL,
            text TEXT NOT NULL,
            procedure TEXT,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            UNIQUE (location, text)
        );
        CREATE TABLE codes (
            id INTEGER PRIMARY KEY,
            check_id INTEGER NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            posting_id INTEGER REFERENCES postings(id),
            procedure TEXT,
            text TEXT,
            corners TEXT NOT NULL,
            grade TEXT NOT NULL,
            score REAL NOT NULL,
            metrics TEXT NOT NULL,
            status TEXT NOT NULL,
            detail_key TEXT NOT NULL DEFAULT '',
            detail_params TEXT NOT NULL DEFAULT '{}',
            action TEXT NOT NULL,
            reason TEXT,
            UNIQUE (check_id, idx)
        );
        CREATE INDEX codes_posting ON codes(posting_id);
        CREATE TABLE prints (
            id INTEGER PRIMARY KEY,
            procedure TEXT NOT NULL,
            tag TEXT NOT NULL DEFAULT '',
            payload TEXT NOT NULL DEFAULT '',
            printed_on TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            UNIQUE (procedure, payload, printed_on)
        );
        """,
    )


def _v2(db: sqlite3.Connection) -> None:
    """Prints of a posting put up at one location (`reprint --done`); catalog versions."""
    _script(
        db,
        """
        CREATE TABLE prints_new (
            id INTEGER PRIMARY KEY,
            procedure TEXT NOT NULL,
            tag TEXT NOT NULL DEFAULT '',
            payload TEXT NOT NULL DEFAULT '',
            printed_on TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            location TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT 'manifest',
            UNIQUE (procedure, payload, printed_on, location)
        );
        INSERT INTO prints_new (id, procedure, tag, payload, printed_on, recorded_at)
            SELECT id, procedure, tag, payload, printed_on, recorded_at FROM prints;
        DROP TABLE prints;
        ALTER TABLE prints_new RENAME TO prints;
        CREATE INDEX prints_place ON prints(location, procedure);
        CREATE TABLE catalog_versions (
            id INTEGER PRIMARY KEY,
            fingerprint TEXT NOT NULL UNIQUE,
            path TEXT NOT NULL,
            rows INTEGER NOT NULL,
            source TEXT NOT NULL DEFAULT '',
            recorded_at TEXT NOT NULL
        );
        """,
    )


def _v3(db: sqlite3.Connection) -> None:
    """What changed in each catalog version, as counts by kind of change (from an import)."""
    _script(db, "ALTER TABLE catalog_versions ADD COLUMN changes TEXT NOT NULL DEFAULT '{}';")


def _v4(db: sqlite3.Connection) -> None:
    """Accounts of the web application (`qrcheck user add`); scans of stable links per day."""
    _script(
        db,
        """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('staff', 'admin')),
            created_at TEXT NOT NULL,
            disabled INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE scans (
            procedure TEXT NOT NULL,
            day TEXT NOT NULL,
            count INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (procedure, day)
        );
        """,
    )


def _v5(db: sqlite3.Connection) -> None:
    """Logged-in sessions of the web application, so that a restart logs nobody out."""
    _script(
        db,
        """
        CREATE TABLE sessions (
            id_hash TEXT PRIMARY KEY,
            csrf TEXT NOT NULL,
            user TEXT NOT NULL,
            role TEXT NOT NULL,
            created REAL NOT NULL,
            seen REAL NOT NULL
        );
        CREATE INDEX sessions_user ON sessions (user COLLATE NOCASE);
        """,
    )


def _v6(db: sqlite3.Connection) -> None:
    """Who scanned a stable link today, as salted hashes, so that each client counts once a
    day; each day's salt is random and forgotten with that day's rows."""
    _script(
        db,
        """
        CREATE TABLE scan_clients (
            day TEXT NOT NULL,
            procedure TEXT NOT NULL,
            client TEXT NOT NULL,
            address TEXT NOT NULL,
            PRIMARY KEY (day, procedure, client)
        ) WITHOUT ROWID;
        CREATE INDEX scan_clients_address ON scan_clients (day, procedure, address);
        CREATE TABLE scan_salts (day TEXT PRIMARY KEY, salt TEXT NOT NULL);
        """,
    )


def _v7(db: sqlite3.Connection) -> None:
    """Undecoded codes keep what their posting's printed text named (`identified`, JSON) and a
    small crop of the posting; a check keeps the photo's own name (the phone's file name for an
    upload, whose stored file name means nothing to staff)."""
    _script(
        db,
        """
        ALTER TABLE codes ADD COLUMN identified TEXT;
        ALTER TABLE codes ADD COLUMN crop BLOB;
        ALTER TABLE checks ADD COLUMN name TEXT NOT NULL DEFAULT '';
        """,
    )


def _v8(db: sqlite3.Connection) -> None:
    """Who closed a task of a board's to-do list, and when: a print put up (`prints.who`), a
    posting taken down or a suspect sticker checked (`tasks_done`)."""
    _script(
        db,
        """
        ALTER TABLE prints ADD COLUMN who TEXT NOT NULL DEFAULT '';
        CREATE TABLE tasks_done (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            location TEXT NOT NULL,
            subject TEXT NOT NULL,
            who TEXT NOT NULL DEFAULT '',
            done_at TEXT NOT NULL
        );
        CREATE INDEX tasks_done_place ON tasks_done (location, kind, subject);
        """,
    )


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _v1,
    _v2,
    _v3,
    _v4,
    _v5,
    _v6,
    _v7,
    _v8,
)


SCHEMA_VERSION = len(MIGRATIONS)
