"""Logging in and out: the login page, the password check (limited per name and address,
against a dummy hash for unknown names), a fresh session at login."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from qrcheck.board.store import Store
from qrcheck.i18n import t
from qrcheck.web.security import hash_password, needs_rehash, verify_password
from qrcheck.web.state import (
    SESSION_COOKIE,
    WebState,
    error_page,
    lang_switch,
    language,
    posted_form,
    render,
    safe_next,
    session_of,
    set_session_cookie,
)


async def home(request: Request) -> Response:
    return RedirectResponse("/check", status_code=303)


async def login_page(request: Request) -> Response:
    web: WebState = request.app.state.web
    if (switch := lang_switch(request)) is not None:
        return switch
    session = session_of(request)
    if session is not None and session.user:
        return RedirectResponse("/check", status_code=303)
    session = session or web.sessions.new()
    return render(request, "login.html", session, next=safe_next(request.query_params.get("next")))


async def login_post(request: Request) -> Response:
    web: WebState = request.app.state.web
    session = session_of(request)
    form = await posted_form(request, session)
    if form is None:
        return error_page(request, session, "web.csrf_failed", 403)
    assert session is not None
    name = str(form.get("name", "")).strip()[:64]
    password = str(form.get("password", ""))[:1024]
    target = safe_next(str(form.get("next", "")))
    ip = request.client.host if request.client else ""
    # counted as failed from now on (until it succeeds): a flood of simultaneous attempts
    # is limited too, per name and per address
    wait, which = web.limiter.begin(name, ip)
    if wait:
        minutes = max(1, round(wait / 60 + 0.49))
        key = "web.login_limited_address" if which == "address" else "web.login_limited"
        return render(
            request,
            "login.html",
            session,
            429,
            next=target,
            user_name=name,
            error=t(key, language(request), minutes=minutes),
        )

    def verify() -> str | None:
        with Store(web.config.db) as store:
            user = store.user(name) if name else None
        # an unknown name is verified against a dummy hash: the same time, the same memory
        with web.hashing.slot() as free:
            if not free:
                return "busy"
            if not verify_password(user.password_hash if user else None, password):
                return None
            assert user is not None
            if needs_rehash(user.password_hash):
                fresh_hash = hash_password(password)
                with Store(web.config.db) as store:
                    store.set_password_hash(user.name, fresh_hash)
        return f"{user.role}:{user.name}"

    found = await run_in_threadpool(verify)
    if found == "busy":
        web.limiter.cancel(name, ip)  # not tried: not held against anyone
        return render(
            request,
            "login.html",
            session,
            503,
            next=target,
            user_name=name,
            error=t("web.login_busy", language(request)),
        )
    if found is None:
        return render(
            request,
            "login.html",
            session,
            401,
            next=target,
            user_name=name,
            error=t("web.login_failed", language(request)),
        )
    web.limiter.succeeded(name, ip)
    role, user = found.split(":", 1)
    web.sessions.drop(session.id)  # a new id at login: no session fixation
    fresh = web.sessions.new(user, role)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, fresh)
    return response


async def logout(request: Request) -> Response:
    web: WebState = request.app.state.web
    session = session_of(request)
    if await posted_form(request, session) is None:
        return error_page(request, session, "web.csrf_failed", 403)
    assert session is not None
    web.sessions.drop(session.id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
