"""Accounts, sessions, CSRF tokens, login rate limits and security headers of the web app.

Sessions live in memory, and logged-in ones also in the history database (as the SHA-256 of
their id), so a restart logs nobody out: the cookie holds only a random id. Every session, even
before login, carries a CSRF token that every POST must send back. Failed logins are counted
per account name and client address, and per client address; at most two passwords are
verified at once, and an unknown name is verified against a dummy hash, in the same time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import sqlite3
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

log = logging.getLogger(__name__)

ROLES = ("staff", "admin")
MIN_PASSWORD = 8
#: account names: letters, digits, dot, dash and underscore (no spaces, no diacritics)
USER_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
_hasher = PasswordHasher()
#: verified against when the account does not exist, so both cases take the same time
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@dataclass
class Session:
    id: str
    csrf: str
    created: float
    seen: float
    user: str | None = None
    role: str | None = None
    data: dict = field(default_factory=dict)


class Sessions:
    """Sessions by id, dropped after `idle` seconds without a request or `lifetime` in all.

    Every session lives in memory. With `db` (the history database), logged-in sessions are also
    written there (the SHA-256 of the id, never the id the cookie carries), so a restarted server
    still knows them; what a session holds besides its account (the board last used, an import
    waiting for confirmation) stays in memory only. Anonymous sessions (the login form's CSRF
    token) are never written.
    """

    #: how often a session's "last seen" is written back (every request would be a write)
    TOUCH = 300.0

    def __init__(
        self,
        idle: float = 8 * 3600,
        lifetime: float = 24 * 3600,
        cap: int = 20_000,
        db: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.idle, self.lifetime, self.cap = idle, lifetime, cap
        self.clock = clock
        self._items: dict[str, Session] = {}
        self._written: dict[str, float] = {}
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if db is not None:
            self._db = sqlite3.connect(str(db), timeout=10, check_same_thread=False)
            self._db.execute("DELETE FROM sessions WHERE seen < ? OR created < ?", self._limits())
            self._db.commit()

    def _limits(self) -> tuple[float, float]:
        now = self.clock()
        return now - self.idle, now - self.lifetime

    @staticmethod
    def _hash(sid: str) -> str:
        return hashlib.sha256(sid.encode()).hexdigest()

    def _write(self, sql: str, params: tuple) -> None:
        """One statement on the database, if there is one (the caller holds the lock)."""
        if self._db is None:
            return
        try:
            with self._db:
                self._db.execute(sql, params)
        except sqlite3.Error:  # the session still works from memory until a restart
            log.exception("the sessions table could not be written")

    def new(self, user: str | None = None, role: str | None = None) -> Session:
        now = self.clock()
        session = Session(
            secrets.token_urlsafe(32), secrets.token_urlsafe(32), now, now, user, role
        )
        with self._lock:
            if len(self._items) >= self.cap:
                self._purge(now)
            if len(self._items) >= self.cap:  # still full: drop the oldest anonymous ones
                for sid, old in sorted(self._items.items(), key=lambda kv: kv[1].seen):
                    if old.user is None:
                        del self._items[sid]
                    if len(self._items) < self.cap * 0.9:
                        break
            self._items[session.id] = session
            if user is not None:
                self._write(
                    "INSERT OR REPLACE INTO sessions (id_hash, csrf, user, role, created, seen)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (self._hash(session.id), session.csrf, user, role, now, now),
                )
                self._written[session.id] = now
        return session

    def get(self, sid: str | None) -> Session | None:
        if not sid or len(sid) > 100:
            return None
        now = self.clock()
        with self._lock:
            session = self._items.get(sid)
            if session is not None and session.user is not None and not self._still_known(sid):
                # ended outside this process (`qrcheck user disable` or `user password`)
                self._forget(sid)
                return None
            if session is None:
                session = self._restore(sid)
                if session is None:
                    return None
            if now - session.seen > self.idle or now - session.created > self.lifetime:
                self._forget(sid)
                return None
            session.seen = now
            if session.user is not None and now - self._written.get(sid, 0.0) > self.TOUCH:
                self._write(
                    "UPDATE sessions SET seen = ? WHERE id_hash = ?", (now, self._hash(sid))
                )
                self._written[sid] = now
            return session

    def _still_known(self, sid: str) -> bool:
        """Whether the database still holds this logged-in session (True without a database,
        or when it cannot be read: a hiccup must not log anyone out)."""
        if self._db is None:
            return True
        try:
            row = self._db.execute(
                "SELECT 1 FROM sessions WHERE id_hash = ?", (self._hash(sid),)
            ).fetchone()
        except sqlite3.Error:
            return True
        return row is not None

    def _restore(self, sid: str) -> Session | None:
        """A logged-in session the database knows (the server restarted since the login)."""
        if self._db is None:
            return None
        try:
            row = self._db.execute(
                "SELECT csrf, user, role, created, seen FROM sessions WHERE id_hash = ?",
                (self._hash(sid),),
            ).fetchone()
        except sqlite3.Error:
            return None
        if row is None:
            return None
        csrf, user, role, created, seen = row
        session = Session(sid, csrf, created, seen, user, role)
        self._items[sid] = session
        self._written[sid] = seen
        return session

    def _forget(self, sid: str) -> None:
        self._items.pop(sid, None)
        self._written.pop(sid, None)
        self._write("DELETE FROM sessions WHERE id_hash = ?", (self._hash(sid),))

    def drop(self, sid: str) -> None:
        with self._lock:
            self._forget(sid)

    def drop_user(self, name: str) -> int:
        """Log an account out everywhere (disabled, or its password was reset)."""
        with self._lock:
            gone = [
                sid
                for sid, s in self._items.items()
                if (s.user or "").casefold() == name.casefold()
            ]
            for sid in gone:
                self._items.pop(sid, None)
                self._written.pop(sid, None)
            self._write("DELETE FROM sessions WHERE user = ? COLLATE NOCASE", (name,))
        return len(gone)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _purge(self, now: float) -> None:
        for sid in [
            sid
            for sid, s in self._items.items()
            if now - s.seen > self.idle or now - s.created > self.lifetime
        ]:
            self._forget(sid)


def csrf_ok(session: Session | None, token: str | None) -> bool:
    return bool(session and token) and hmac.compare_digest(session.csrf, str(token))


class LoginLimiter:
    """Failed logins, counted per (account name, client address) and per client address.

    At most `attempts` failures for one name from one address, and `per_address` for all names
    together from one address, in `window` seconds. An attempt counts as failed from the moment
    it starts (`begin`) until it succeeds, so a flood of simultaneous attempts is limited as
    well as a slow one. Both tables keep at most `keys` entries (the least recently used go
    first) and each entry at most its limit's timestamps, so random names cannot grow them.
    """

    def __init__(
        self,
        attempts: int = 5,
        window: float = 300.0,
        per_address: int = 30,
        keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.attempts, self.window, self.per_address = attempts, window, per_address
        self.keys, self.clock = keys, clock
        self._pairs: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._addresses: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, table: OrderedDict, key: object, limit: int, now: float) -> deque[float]:
        times = table.get(key)
        if times is None:
            times = table[key] = deque(maxlen=max(1, limit))
            while len(table) > self.keys:
                table.popitem(last=False)
        else:
            table.move_to_end(key)
        while times and now - times[0] > self.window:
            times.popleft()
        return times

    def _wait(self, times: deque[float], limit: int, now: float) -> float:
        if len(times) < limit:
            return 0.0
        return max(0.001, self.window - (now - times[0]))

    def check(self, name: str, ip: str) -> tuple[float, str]:
        """(seconds until the next attempt is allowed, "name" or "address": which limit);
        (0, "") when an attempt is allowed now. Nothing is counted."""
        now = self.clock()
        with self._lock:
            return self._check(name.casefold(), ip, now)

    def _check(self, name: str, ip: str, now: float) -> tuple[float, str]:
        wait = self._wait(
            self._recent(self._addresses, ip, self.per_address, now), self.per_address, now
        )
        if wait:
            return wait, "address"
        wait = self._wait(
            self._recent(self._pairs, (name, ip), self.attempts, now), self.attempts, now
        )
        return (wait, "name") if wait else (0.0, "")

    def begin(self, name: str, ip: str) -> tuple[float, str]:
        """As `check`; when allowed, the attempt is counted as failed until `succeeded`."""
        now = self.clock()
        key = name.casefold()
        with self._lock:
            blocked = self._check(key, ip, now)
            if not blocked[0]:
                self._addresses[ip].append(now)
                self._pairs[(key, ip)].append(now)
            return blocked

    def blocked(self, name: str, ip: str) -> float:
        """Seconds until the next attempt is allowed (0: allowed now)."""
        return self.check(name, ip)[0]

    def failed(self, name: str, ip: str) -> None:
        """Count a failure (an attempt not started with `begin`)."""
        now = self.clock()
        key = name.casefold()
        with self._lock:
            self._recent(self._addresses, ip, self.per_address, now).append(now)
            self._recent(self._pairs, (key, ip), self.attempts, now).append(now)

    def succeeded(self, name: str, ip: str) -> None:
        """A login succeeded: its name starts afresh, and its attempt is not held against the
        address."""
        with self._lock:
            self._pairs.pop((name.casefold(), ip), None)
            times = self._addresses.get(ip)
            if times:
                times.pop()

    def cancel(self, name: str, ip: str) -> None:
        """An attempt `begin` counted was not tried after all (the server was busy)."""
        with self._lock:
            for times in (self._pairs.get((name.casefold(), ip)), self._addresses.get(ip)):
                if times:
                    times.pop()

    def __len__(self) -> int:
        """Entries held (both tables), for tests and monitoring."""
        with self._lock:
            return len(self._pairs) + len(self._addresses)


class Hashing:
    """At most `slots` password verifications at once: each argon2 hash takes 64 MiB, so 40
    simultaneous logins would take 2.5 GB. An attempt that finds no free slot within `wait`
    seconds is told to try again."""

    def __init__(self, slots: int = 2, wait: float = 10.0) -> None:
        self._slots = threading.BoundedSemaphore(max(1, slots))
        self.wait = wait

    @contextmanager
    def slot(self) -> Iterator[bool]:
        """True inside a free slot, False when none came free in time."""
        got = self._slots.acquire(timeout=self.wait)
        try:
            yield got
        finally:
            if got:
                self._slots.release()


CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)


class SecurityHeaders:
    """ASGI middleware: the security headers on every HTTP response."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:  # type: ignore[no-untyped-def]
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in HEADERS if n not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
