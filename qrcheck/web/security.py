"""Accounts, sessions, CSRF tokens, login rate limits and security headers of the web app.

Sessions live in memory on the server (a restart logs everyone out, which is harmless): the
cookie holds only a random id. Every session, even before login, carries a CSRF token that every
POST must send back. Failed logins are counted per account name and client address.
"""

from __future__ import annotations

import hmac
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

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
    """Sessions by id, dropped after `idle` seconds without a request or `lifetime` in all."""

    def __init__(self, idle: float = 8 * 3600, lifetime: float = 24 * 3600, cap: int = 20_000):
        self.idle, self.lifetime, self.cap = idle, lifetime, cap
        self._items: dict[str, Session] = {}
        self._lock = threading.Lock()

    def new(self, user: str | None = None, role: str | None = None) -> Session:
        now = time.monotonic()
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
        return session

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        now = time.monotonic()
        with self._lock:
            session = self._items.get(sid)
            if session is None:
                return None
            if now - session.seen > self.idle or now - session.created > self.lifetime:
                del self._items[sid]
                return None
            session.seen = now
            return session

    def drop(self, sid: str) -> None:
        with self._lock:
            self._items.pop(sid, None)

    def drop_user(self, name: str) -> int:
        """Log an account out everywhere (disabled, or its password was reset)."""
        with self._lock:
            gone = [
                sid
                for sid, s in self._items.items()
                if (s.user or "").casefold() == name.casefold()
            ]
            for sid in gone:
                del self._items[sid]
        return len(gone)

    def _purge(self, now: float) -> None:
        for sid in [
            sid
            for sid, s in self._items.items()
            if now - s.seen > self.idle or now - s.created > self.lifetime
        ]:
            del self._items[sid]


def csrf_ok(session: Session | None, token: str | None) -> bool:
    return bool(session and token) and hmac.compare_digest(session.csrf, str(token))


class LoginLimiter:
    """At most `attempts` failed logins per (account name, client address) in `window` seconds."""

    def __init__(self, attempts: int = 5, window: float = 300.0) -> None:
        self.attempts, self.window = attempts, window
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and now - times[0] > self.window:
            times.popleft()
        return times

    def blocked(self, name: str, ip: str) -> float:
        """Seconds until the next attempt is allowed (0: allowed now)."""
        key, now = (name.casefold(), ip), time.monotonic()
        with self._lock:
            times = self._recent(key, now)
            if len(times) < self.attempts:
                return 0.0
            return max(0.0, self.window - (now - times[0]))

    def failed(self, name: str, ip: str) -> None:
        key, now = (name.casefold(), ip), time.monotonic()
        with self._lock:
            self._recent(key, now).append(now)
            if len(self._failures) > 50_000:  # forget keys with nothing recent
                for k in [k for k, v in self._failures.items() if not v]:
                    del self._failures[k]

    def succeeded(self, name: str, ip: str) -> None:
        with self._lock:
            self._failures.pop((name.casefold(), ip), None)


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
