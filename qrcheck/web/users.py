"""Accounts (admins only): the list, adding one, setting a password, disabling and enabling."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from qrcheck.board.store import Account, Store
from qrcheck.i18n import t
from qrcheck.web.security import MIN_PASSWORD, USER_NAME, Session, hash_password
from qrcheck.web.state import ROLE_KEYS, WebState, admin_form, guarded, language, render


def read_accounts(request: Request) -> list[Account]:
    web: WebState = request.app.state.web
    with Store(web.config.db) as store:
        return store.accounts()


async def users_page(request: Request) -> Response:
    session = await guarded(request, admin=True)
    if not isinstance(session, Session):
        return session
    accounts = await run_in_threadpool(read_accounts, request)
    return render(request, "users.html", session, accounts=accounts, errors=[], notice=None)


async def users_post(request: Request) -> Response:
    web: WebState = request.app.state.web
    posted = await admin_form(request)
    if isinstance(posted, Response):
        return posted
    session, form = posted
    lang = language(request)
    todo = str(form.get("do", ""))
    name = str(form.get("name", "")).strip()
    password = str(form.get("password", ""))
    errors: list[str] = []
    notice: str | None = None

    def change() -> tuple[list[str], str | None]:
        with Store(web.config.db) as store:
            accounts = {a.name.casefold(): a for a in store.accounts()}
            target = accounts.get(name.casefold())
            if todo == "add":
                role = "admin" if form.get("role") == "admin" else "staff"
                if not USER_NAME.fullmatch(name):
                    return [t("user.bad_name", lang, name=name)], None
                if target is not None:
                    return [t("user.exists", lang, name=name)], None
                problem = password_problem(password, str(form.get("again", "")))
                if problem:
                    return [problem], None
                store.add_user(name, hash_password(password), role)
                role_word = t(ROLE_KEYS[role], lang)
                return [], t("user.added", lang, name=name, role=role_word)
            if target is None:
                return [t("web_users.no_such", lang, name=name)], None
            if todo == "password":
                problem = password_problem(password, str(form.get("again", "")))
                if problem:
                    return [problem], None
                store.set_password_hash(target.name, hash_password(password))
                web.sessions.drop_user(target.name)
                return [], t("web_users.password_set", lang, name=target.name)
            if todo in ("disable", "enable"):
                if todo == "disable" and target.name.casefold() == (session.user or "").casefold():
                    return [t("web_users.not_yourself", lang)], None
                store.set_disabled(target.name, todo == "disable")
                if todo == "disable":
                    web.sessions.drop_user(target.name)
                    return [], t("web_users.disabled", lang, name=target.name)
                return [], t("web_users.enabled", lang, name=target.name)
            return [t("web.csrf_failed", lang)], None

    def password_problem(password: str, again: str) -> str | None:
        if len(password) < MIN_PASSWORD:
            return t("user.password_short", lang, length=MIN_PASSWORD)
        if password != again:
            return t("web_users.mismatch", lang)
        return None

    errors, notice = await run_in_threadpool(change)
    accounts = await run_in_threadpool(read_accounts, request)
    return render(
        request,
        "users.html",
        session,
        400 if errors else 200,
        accounts=accounts,
        errors=errors,
        notice=notice,
    )
