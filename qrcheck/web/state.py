"""What every page of the web application shares: the application's state (WebState, kept in
`app.state.web`), the language and session of a request, rendering a template, the answers for
visitors who may not see a page, and the form of a POST checked against its CSRF token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from qrcheck.i18n import LANGUAGES, t
from qrcheck.web.config import CatalogSource, WebConfig
from qrcheck.web.jobs import Checker
from qrcheck.web.pages import StatusPages
from qrcheck.web.security import Hashing, LoginLimiter, Session, Sessions, csrf_ok

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SESSION_COOKIE = "qrcheck_session"
LANG_COOKIE = "qrcheck_lang"
ROLE_KEYS = {"staff": "web.role_staff", "admin": "web.role_admin"}


@dataclass
class WebState:
    """What the handlers read from `request.app.state.web` (made once by create_app)."""

    config: WebConfig
    source: CatalogSource
    sessions: Sessions
    limiter: LoginLimiter
    hashing: Hashing
    checker: Checker
    env: Environment
    pages: StatusPages
    uploads: Path
    annotated_dir: Path


def language(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE, "")
    return chosen if chosen in LANGUAGES else "vi"


def session_of(request: Request) -> Session | None:
    web: WebState = request.app.state.web
    return web.sessions.get(request.cookies.get(SESSION_COOKIE))


def set_session_cookie(request: Request, response: Response, session: Session) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session.id,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def render(
    request: Request,
    template: str,
    session: Session | None,
    status: int = 200,
    **values: object,
) -> HTMLResponse:
    web: WebState = request.app.state.web
    lang = language(request)
    other = "en" if lang == "vi" else "vi"

    def tr(key: str, **params: object) -> str:
        return t(key, lang, **params)

    html = web.env.get_template(template).render(
        tr=tr,
        lang=lang,
        switch_href=f"{request.url.path}?lang={other}",
        here=request.url.path,
        session=session,
        role_name=tr(ROLE_KEYS[session.role]) if session and session.role else "",
        csrf=session.csrf if session else "",
        **values,
    )
    response = HTMLResponse(html, status_code=status)
    response.headers["cache-control"] = "no-store"
    if session is not None and request.cookies.get(SESSION_COOKIE) != session.id:
        set_session_cookie(request, response, session)
    return response


def lang_switch(request: Request) -> Response | None:
    """?lang=xx: remember the choice and show the same page without the parameter."""
    wanted = request.query_params.get("lang")
    if wanted is None:
        return None
    response = RedirectResponse(request.url.path, status_code=303)
    if wanted in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE,
            wanted,
            max_age=365 * 86400,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response


def login_redirect(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


def safe_next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/check"


def download(data: bytes, media_type: str, name: str) -> Response:
    """A file to save (the print sheet, the to-do list), never cached."""
    return Response(
        data,
        media_type=media_type,
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "cache-control": "no-store",
        },
    )


def error_page(request: Request, session: Session | None, key: str, status: int) -> Response:
    return render(request, "message.html", session, status, message=key, params={})


async def posted_form(request: Request, session: Session | None):  # type: ignore[no-untyped-def]
    """The form of a POST, or None when its CSRF token is missing or wrong."""
    try:
        form = await request.form(max_files=0, max_fields=20)
    except HTTPException:  # not a form this site sends (a file, too many fields)
        return None
    if not csrf_ok(session, form.get("csrf")):  # type: ignore[arg-type]
        return None
    return form


def logged_in(request: Request) -> Session | None:
    session = session_of(request)
    return session if session is not None and session.user else None


async def guarded(request: Request, admin: bool = False) -> Session | Response:
    """The logged-in session, or the answer for a visitor who may not see the page."""
    if (switch := lang_switch(request)) is not None:
        return switch
    session = logged_in(request)
    if session is None:
        return login_redirect(request)
    if admin and session.role != "admin":
        return error_page(request, session, "web_pages.admin_only", 403)
    return session


def by_method(
    get: Callable[[Request], Awaitable[Response]], post: Callable[[Request], Awaitable[Response]]
) -> Callable[[Request], Awaitable[Response]]:
    """One endpoint for a path's GET (and HEAD) and its POST."""

    async def endpoint(request: Request) -> Response:
        return await (post if request.method == "POST" else get)(request)

    return endpoint


async def admin_form(request: Request):  # type: ignore[no-untyped-def]
    """(session, form) of an administrator's POST, or the answer for anyone else."""
    session = logged_in(request)
    if session is None:
        return login_redirect(request)
    if session.role != "admin":
        return error_page(request, session, "web_pages.admin_only", 403)
    form = await posted_form(request, session)
    if form is None:
        return error_page(request, session, "web.csrf_failed", 403)
    return session, form


async def not_found(request: Request, exc: Exception) -> Response:
    return error_page(request, session_of(request), "web.not_found", 404)


async def not_allowed(request: Request, exc: Exception) -> Response:
    """A sentence instead of Starlette's English, with the route's own Allow header."""
    response = error_page(request, session_of(request), "web.method_not_allowed", 405)
    allow = (getattr(exc, "headers", None) or {}).get("Allow")
    if allow:
        response.headers["allow"] = allow
    return response
