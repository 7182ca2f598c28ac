"""The Starlette application: login, check a board, results, stable links, accounts.

Pages are rendered on the server with Jinja2 (templates/), styled by one local stylesheet
(static/), with no inline script or style, so the Content-Security-Policy needs no
'unsafe-inline'. Everything works without JavaScript; one small local script
(static/upload.js) only adds an upload progress bar. Every sentence comes from the message
catalog (qrcheck/i18n), in Vietnamese unless the user chose English (?lang=en, remembered in
a cookie).
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import secrets
import shutil
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from PIL import Image
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from qrcheck.board.annotate import grid_positions, legend_height
from qrcheck.board.check import finish_round
from qrcheck.board.results import PhotoResult
from qrcheck.board.store import Account, Store
from qrcheck.board.todo import KIND_KEYS
from qrcheck.errors import PhotoError, QrcheckError
from qrcheck.files import atomic_write_bytes
from qrcheck.i18n import LANGUAGES, t
from qrcheck.vision.photos import probe_photo
from qrcheck.web.config import CatalogSource, WebConfig
from qrcheck.web.jobs import Batch, Checker
from qrcheck.web.pages import IMPORT_SUFFIXES, StatusPages
from qrcheck.web.security import (
    MIN_PASSWORD,
    USER_NAME,
    Hashing,
    LoginLimiter,
    SecurityHeaders,
    Session,
    Sessions,
    csrf_ok,
    hash_password,
    needs_rehash,
    verify_password,
)

HERE = Path(str(resources.files(__package__)))
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SESSION_COOKIE = "qrcheck_session"
LANG_COOKIE = "qrcheck_lang"
CODE = re.compile(r"\d\.\d{6}")
ROLE_KEYS = {"staff": "web.role_staff", "admin": "web.role_admin"}
ACTION_ORDER = ("investigate", "remove", "reprint", "retake", "monitor", "ok")
#: actions that need nothing done now (folded on the result page)
SOUND_ACTIONS = ("monitor", "ok")
#: the width a result photo takes on a phone (390 px screen less the margins), the smallest tap
#: target (Apple's and WCAG's 44 px) and the number badge's size there, in CSS pixels
PHONE_PX, TAP_PX, BADGE_PX = 340, 46, 28
#: the longest side of the annotated photo as the result page shows it (the original on a tap)
VIEW_PIXELS = 1600


def create_app(config: WebConfig) -> Starlette:
    """The application; its worker pool stops when the server shuts down."""
    config.data.mkdir(parents=True, exist_ok=True)
    uploads = config.data / "uploads"
    annotated_dir = config.data / "annotated"
    uploads.mkdir(exist_ok=True)
    annotated_dir.mkdir(exist_ok=True)
    with Store(config.db):  # create or upgrade the database now, not on the first request
        pass
    source = CatalogSource(config.catalog)
    sessions = Sessions(db=config.db)
    limiter = LoginLimiter(
        config.login_attempts, config.login_window, per_address=config.login_per_address
    )
    hashing = Hashing(config.login_hashing)

    def check_context() -> tuple:
        catalog, history = source.get()
        return catalog.as_of(config.today()), catalog.center, history

    checker = Checker(
        config.db,
        config.workers,
        check_context,
        live=config.live,
        link_cache=config.data / "link-cache.sqlite",
    )
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )

    # -----------------------------------------------------------------------------------------
    # helpers

    def language(request: Request) -> str:
        chosen = request.cookies.get(LANG_COOKIE, "")
        return chosen if chosen in LANGUAGES else "vi"

    def session_of(request: Request) -> Session | None:
        return sessions.get(request.cookies.get(SESSION_COOKIE))

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
        lang = language(request)
        other = "en" if lang == "vi" else "vi"

        def tr(key: str, **params: object) -> str:
            return t(key, lang, **params)

        html = env.get_template(template).render(
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

    # -----------------------------------------------------------------------------------------
    # pages

    async def home(request: Request) -> Response:
        return RedirectResponse("/check", status_code=303)

    async def login_page(request: Request) -> Response:
        if (switch := lang_switch(request)) is not None:
            return switch
        session = session_of(request)
        if session is not None and session.user:
            return RedirectResponse("/check", status_code=303)
        session = session or sessions.new()
        return render(
            request, "login.html", session, next=safe_next(request.query_params.get("next"))
        )

    async def login_post(request: Request) -> Response:
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
        wait, which = limiter.begin(name, ip)
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
            with Store(config.db) as store:
                user = store.user(name) if name else None
            # an unknown name is verified against a dummy hash: the same time, the same memory
            with hashing.slot() as free:
                if not free:
                    return "busy"
                if not verify_password(user.password_hash if user else None, password):
                    return None
                assert user is not None
                if needs_rehash(user.password_hash):
                    fresh_hash = hash_password(password)
                    with Store(config.db) as store:
                        store.set_password_hash(user.name, fresh_hash)
            return f"{user.role}:{user.name}"

        found = await run_in_threadpool(verify)
        if found == "busy":
            limiter.cancel(name, ip)  # not tried: not held against anyone
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
        limiter.succeeded(name, ip)
        role, user = found.split(":", 1)
        sessions.drop(session.id)  # a new id at login: no session fixation
        fresh = sessions.new(user, role)
        response = RedirectResponse(target, status_code=303)
        set_session_cookie(request, response, fresh)
        return response

    async def logout(request: Request) -> Response:
        session = session_of(request)
        if await posted_form(request, session) is None:
            return error_page(request, session, "web.csrf_failed", 403)
        assert session is not None
        sessions.drop(session.id)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    def logged_in(request: Request) -> Session | None:
        session = session_of(request)
        return session if session is not None and session.user else None

    async def locations() -> list[str]:
        def read() -> list[str]:
            with Store(config.db) as store:
                return store.locations()[:200]

        return await run_in_threadpool(read)

    async def check_page(request: Request) -> Response:
        session = await guarded(request)
        if not isinstance(session, Session):
            return session
        return render(
            request,
            "check.html",
            session,
            locations=await locations(),
            # "take this photo again" links carry the board's name
            location=" ".join(request.query_params.get("location", "").split())[:120]
            or session.data.get("location", ""),
            errors=[],
            limit_mb=config.max_upload_mb,
            max_files=config.max_files,
        )

    async def check_post(request: Request) -> Response:
        session = logged_in(request)
        if session is None:
            return login_redirect(request)
        lang = language(request)
        limit = config.max_upload_mb * 1024 * 1024

        async def refuse(errors: list[str], status: int, location: str = "") -> Response:
            return render(
                request,
                "check.html",
                session,
                status,
                locations=await locations(),
                location=location or session.data.get("location", ""),
                errors=errors,
                limit_mb=config.max_upload_mb,
                max_files=config.max_files,
            )

        length = request.headers.get("content-length", "")
        size = int(length) if length.isdigit() else None
        if size is None or size > limit:
            if size is not None and size <= 4 * limit:  # read it so the client sees the answer
                async for _ in request.stream():
                    pass
            megabytes = f"{size / 1048576:.0f}" if size is not None else "?"
            message = t("web.too_big", lang, megabytes=megabytes, limit=config.max_upload_mb)
            return await refuse([message], 413)
        # the form parser's own limit is far above ours, so that we count the photos and say
        # it in a sentence (its own error is in English); past it the count is "more than"
        most = max(100, 4 * config.max_files)
        try:
            form = await request.form(max_files=most, max_fields=10, max_part_size=64 * 1024)
        except HTTPException as exc:
            if "files" in str(exc.detail):
                message = t("web.too_many", lang, count=f"> {most}", limit=config.max_files)
            else:
                message = t("web.bad_form", lang)
            return await refuse([message], 400)
        stored: list[tuple[Path, Path, str]] = []
        try:
            if not csrf_ok(session, form.get("csrf")):  # type: ignore[arg-type]
                return error_page(request, session, "web.csrf_failed", 403)
            location = " ".join(str(form.get("location", "")).split())[:120]
            files = [f for f in form.getlist("photos") if isinstance(f, UploadFile) and f.filename]
            errors = []
            if not files:
                errors.append(t("web.no_file", lang))
            if len(files) > config.max_files:
                errors.append(t("web.too_many", lang, count=len(files), limit=config.max_files))
            if not location:
                errors.append(t("web.no_location", lang))
            if errors:
                return await refuse(errors, 400, location)
            for upload in files:
                token = secrets.token_urlsafe(18)
                target = uploads / f"{token}.photo"
                name = _display_name(upload.filename)
                stored.append((target, annotated_dir / f"{token}.jpg", name))
                await run_in_threadpool(_save, upload, target)
        except BaseException:
            _remove(path for path, _, _ in stored)
            raise
        finally:
            await form.close()

        def sniff() -> dict[int, QrcheckError]:
            """What is not a photo or is too big, from the headers, by position: the worker
            decodes each photo once; damage inside the pixel data is said on the result page."""
            refused: dict[int, QrcheckError] = {}
            for index, (path, _, _) in enumerate(stored):
                try:
                    probe_photo(path, config.max_pixels)
                except PhotoError as exc:
                    refused[index] = exc
            return refused

        refused = await run_in_threadpool(sniff)
        if len(refused) == len(stored):  # nothing to check: say why on the form itself
            _remove(path for path, _, _ in stored)
            problems = [
                t(exc.key, lang, **{**exc.params, "path": stored[i][2]})
                for i, exc in refused.items()
            ]
            return await refuse(problems, 400, location)
        session.data["location"] = location
        try:
            # the photos refused are named on the result page, beside the others' results
            batch = checker.submit(session.user or "", location, lang, stored, refused)
        except BaseException:
            _remove(path for path, _, _ in stored)
            raise
        return RedirectResponse(f"/batch/{batch.id}", status_code=303)

    def own_batch(request: Request, session: Session) -> Batch | None:
        batch = checker.get(request.path_params["batch"])
        if batch is None or (batch.owner != session.user and session.role != "admin"):
            return None
        return batch

    async def batch_page(request: Request) -> Response:
        session = await guarded(request)
        if not isinstance(session, Session):
            return session
        batch = own_batch(request, session)
        if batch is None:
            return error_page(request, session, "web.job_missing", 404)
        lang = language(request)
        if not batch.done:
            done = sum(1 for job in batch.jobs if job.result is not None)
            return render(
                request, "working.html", session, count=len(batch.jobs), done=done, batch=batch
            )
        catalog, _ = source.get()
        names = {code: p.name for code, p in catalog.as_of(config.today()).procedures.items()}
        # the batch is one round: postings seen in several of its photos are judged together
        results = finish_round([job.result for job in batch.jobs if job.result is not None])
        photos = [photo_view(batch, i, result, lang, names) for i, result in enumerate(results)]
        offline = any(photo.get("offline") for photo in photos)
        summary = action_summary([c["action"] for p in photos for c in p["codes"]], lang)
        return render(
            request,
            "result.html",
            session,
            batch=batch,
            photos=photos,
            offline=offline,
            summary=summary,
        )

    async def annotated(request: Request) -> Response:
        session = logged_in(request)
        if session is None:
            return Response(status_code=403)
        batch = own_batch(request, session)
        index = request.path_params["index"]
        if batch is None or not batch.done or index >= len(batch.jobs):
            return Response(status_code=404)
        result = batch.jobs[index].result
        if result is None or result.annotated is None or not result.annotated.is_file():
            return Response(status_code=404)
        path = result.annotated
        if request.url.path.split("/")[-2] == "view":
            small = path.with_name(f"{path.stem}-view.jpg")
            try:
                path = await run_in_threadpool(view_copy, result.annotated, small)
            except OSError:  # the full photo is still there to show
                path = result.annotated
        return FileResponse(path, media_type="image/jpeg", headers={"cache-control": "private"})

    async def stable_link(request: Request) -> Response:
        code = request.path_params["code"]
        if (switch := lang_switch(request)) is not None:
            return switch
        session = session_of(request)
        catalog, _ = source.get()
        today = config.today()
        procedure = catalog.as_of(today).procedures.get(code) if CODE.fullmatch(code) else None
        if procedure is None:
            return render(
                request,
                "message.html",
                session,
                404,
                message="stable.unknown",
                params={"code": code},
            )

        # one client (its address and browser, kept only as a salted hash) counts once a day
        address = request.client.host if request.client else ""
        client = f"{address}\0{request.headers.get('user-agent', '')[:300]}"

        def count() -> None:
            with Store(config.db) as store:
                store.record_scan(procedure.code, today.isoformat(), client, address)

        await run_in_threadpool(count)
        if procedure.in_force and procedure.link:
            return RedirectResponse(procedure.link, status_code=302)
        view = catalog.as_of(today)
        successor = view.procedures.get(procedure.replaced_by) if procedure.replaced_by else None
        return render(
            request,
            "stable.html",
            session,
            procedure=procedure,
            successor=successor,
            replaced=successor is not None,
        )

    # -----------------------------------------------------------------------------------------
    # boards, reprint list, catalog (qrcheck.web.pages)

    pages = StatusPages(config, source, uploads_dir=config.data / "imports")

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

    async def boards_page(request: Request) -> Response:
        session = await guarded(request)
        if not isinstance(session, Session):
            return session
        lang = language(request)
        boards, scans, show_scans = await run_in_threadpool(pages.boards, lang)
        return render(
            request, "boards.html", session, boards=boards, scans=scans, show_scans=show_scans
        )

    async def reprint_page(request: Request) -> Response:
        session = await guarded(request)
        if not isinstance(session, Session):
            return session
        items = await run_in_threadpool(pages.reprint_items, language(request))
        return render(request, "reprint.html", session, items=items)

    async def reprint_sheet(request: Request) -> Response:
        session = await guarded(request)
        if not isinstance(session, Session):
            return session
        made = await run_in_threadpool(pages.sheet)
        if made is None:
            return error_page(request, session, "store.sheet_empty", 404)
        pdf, name = made
        return download(pdf, "application/pdf", name)

    async def todo_page(request: Request) -> Response:
        session = await guarded(request)
        if not isinstance(session, Session):
            return session
        boards = await run_in_threadpool(pages.todo, language(request))
        notice = session.data.pop("todo_notice", None)
        return render(request, "todo.html", session, boards=boards, notice=notice)

    async def todo_done(request: Request) -> Response:
        """Close one task from the phone ("Đã thay xong", "Đã gỡ", "Đã kiểm tra")."""
        session = logged_in(request)
        if session is None:
            return login_redirect(request)
        form = await posted_form(request, session)
        if form is None:
            return error_page(request, session, "web.csrf_failed", 403)
        kind = str(form.get("kind", ""))
        location = str(form.get("location", ""))[:200]
        subject = str(form.get("subject", ""))[:4096]
        lang = language(request)
        closed = await run_in_threadpool(pages.close_task, kind, location, subject, session.user)
        if not closed:
            return error_page(request, session, "todo.not_closed", 400)
        word = t(KIND_KEYS.get(kind, "todo.kind_print"), lang)
        session.data["todo_notice"] = t("todo.closed", lang, task=word, board=location)
        return RedirectResponse("/todo", status_code=303)

    async def todo_download(request: Request) -> Response:
        session = await guarded(request)
        if not isinstance(session, Session):
            return session
        data, name = await run_in_threadpool(pages.todo_xlsx, language(request))
        return download(data, XLSX_TYPE, name)

    async def crop_image(request: Request) -> Response:
        """The crop of a posting nobody could name (a thumbnail on the reprint and boards
        pages)."""
        session = await guarded(request)
        if not isinstance(session, Session):
            return session
        data = await run_in_threadpool(pages.crop, int(request.path_params["code"]))
        if data is None:
            return error_page(request, session, "web.not_found", 404)
        return Response(data, media_type="image/jpeg", headers={"cache-control": "no-store"})

    async def catalog_page(request: Request) -> Response:
        session = await guarded(request)
        if not isinstance(session, Session):
            return session
        upcoming, versions = await run_in_threadpool(pages.catalog_changes, language(request))
        return render(request, "catalog.html", session, upcoming=upcoming, versions=versions)

    async def import_page(request: Request) -> Response:
        session = await guarded(request, admin=True)
        if not isinstance(session, Session):
            return session
        return render(request, "import.html", session, preview=None, errors=[])

    async def import_post(request: Request) -> Response:
        session = logged_in(request)
        if session is None:
            return login_redirect(request)
        if session.role != "admin":
            return error_page(request, session, "web_pages.admin_only", 403)
        lang = language(request)
        length = request.headers.get("content-length", "")
        size = int(length) if length.isdigit() else None
        limit = config.max_upload_mb * 1024 * 1024
        if size is None or size > limit:
            message = t("web_pages.import_too_big", lang, limit=config.max_upload_mb)
            return render(request, "import.html", session, 413, preview=None, errors=[message])
        form = await request.form(max_files=1, max_fields=5, max_part_size=64 * 1024)
        try:
            if not csrf_ok(session, form.get("csrf")):  # type: ignore[arg-type]
                return error_page(request, session, "web.csrf_failed", 403)
            upload = form.get("export")
            missing = "abolish" if form.get("missing") == "abolish" else "keep"
            if not isinstance(upload, UploadFile) or not upload.filename:
                message = t("web_pages.import_no_file", lang)
                return render(request, "import.html", session, 400, preview=None, errors=[message])
            suffix = Path(_display_name(upload.filename)).suffix.lower()
            if suffix not in IMPORT_SUFFIXES:
                message = t("web_pages.import_bad_type", lang)
                return render(request, "import.html", session, 400, preview=None, errors=[message])
            target = pages.upload_target(suffix)
            await run_in_threadpool(_save, upload, target)
        finally:
            await form.close()
        try:
            preview, prepared = await run_in_threadpool(
                pages.prepare, target, missing, _display_name(upload.filename), lang
            )
        except QrcheckError as exc:
            target.unlink(missing_ok=True)
            message = t(exc.key, lang, **exc.params)
            return render(request, "import.html", session, 400, preview=None, errors=[message])
        token = secrets.token_urlsafe(18)
        session.data["import"] = (token, prepared, preview["source"])
        return render(request, "import.html", session, preview=preview, token=token, errors=[])

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

    async def import_apply(request: Request) -> Response:
        posted = await admin_form(request)
        if isinstance(posted, Response):
            return posted
        session, form = posted
        held = session.data.get("import")
        if held is None or not secrets.compare_digest(held[0], str(form.get("token", ""))):
            return error_page(request, session, "web_pages.import_expired", 409)
        session.data.pop("import", None)
        lang = language(request)
        try:
            await run_in_threadpool(pages.apply, held[1], held[2])
        except QrcheckError as exc:
            message = t(exc.key, lang, **exc.params)
            return render(request, "import.html", session, 409, preview=None, errors=[message])
        # said as a success, not in the error style, with the way to what now needs reprinting
        done = t("web_todo.import_done", lang, file=held[2])
        return render(request, "import.html", session, preview=None, errors=[], done=done)

    # -----------------------------------------------------------------------------------------
    # accounts (admins only)

    def read_accounts() -> list[Account]:
        with Store(config.db) as store:
            return store.accounts()

    async def users_page(request: Request) -> Response:
        session = await guarded(request, admin=True)
        if not isinstance(session, Session):
            return session
        accounts = await run_in_threadpool(read_accounts)
        return render(request, "users.html", session, accounts=accounts, errors=[], notice=None)

    async def users_post(request: Request) -> Response:
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
            with Store(config.db) as store:
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
                    sessions.drop_user(target.name)
                    return [], t("web_users.password_set", lang, name=target.name)
                if todo in ("disable", "enable"):
                    if (
                        todo == "disable"
                        and target.name.casefold() == (session.user or "").casefold()
                    ):
                        return [t("web_users.not_yourself", lang)], None
                    store.set_disabled(target.name, todo == "disable")
                    if todo == "disable":
                        sessions.drop_user(target.name)
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
        accounts = await run_in_threadpool(read_accounts)
        return render(
            request,
            "users.html",
            session,
            400 if errors else 200,
            accounts=accounts,
            errors=errors,
            notice=notice,
        )

    async def not_found(request: Request, exc: Exception) -> Response:
        return error_page(request, session_of(request), "web.not_found", 404)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        """A sentence instead of Starlette's English, with the route's own Allow header."""
        response = error_page(request, session_of(request), "web.method_not_allowed", 405)
        allow = (getattr(exc, "headers", None) or {}).get("Allow")
        if allow:
            response.headers["allow"] = allow
        return response

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
        yield
        await run_in_threadpool(checker.close)
        sessions.close()

    app = Starlette(
        routes=[
            # one route per path, so that a 405's Allow lists every method the path takes
            Route("/", home, methods=["GET"]),
            Route("/login", by_method(login_page, login_post), methods=["GET", "POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/check", by_method(check_page, check_post), methods=["GET", "POST"]),
            Route("/batch/{batch}", batch_page),
            Route("/batch/{batch}/photo/{index:int}.jpg", annotated),
            Route("/batch/{batch}/view/{index:int}.jpg", annotated),
            Route("/p/{code}", stable_link),
            Route("/boards", boards_page),
            Route("/reprint", reprint_page),
            Route("/reprint/sheet.pdf", reprint_sheet),
            Route("/crop/{code:int}.jpg", crop_image),
            Route("/todo", todo_page),
            Route("/todo/done", todo_done, methods=["POST"]),
            Route("/todo.xlsx", todo_download),
            Route("/catalog", catalog_page),
            Route("/catalog/import", by_method(import_page, import_post), methods=["GET", "POST"]),
            Route("/catalog/import/apply", import_apply, methods=["POST"]),
            Route("/users", by_method(users_page, users_post), methods=["GET", "POST"]),
            Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
        ],
        exception_handlers={404: not_found, 405: not_allowed},
        lifespan=lifespan,
    )
    app.state.checker = checker
    app.state.sessions = sessions
    return SecurityHeaders(app)  # type: ignore[return-value]


def _save(upload: UploadFile, target: Path) -> None:
    upload.file.seek(0)
    with target.open("xb") as out:
        shutil.copyfileobj(upload.file, out, 1 << 20)


def by_method(
    get: Callable[[Request], Awaitable[Response]], post: Callable[[Request], Awaitable[Response]]
) -> Callable[[Request], Awaitable[Response]]:
    """One endpoint for a path's GET (and HEAD) and its POST."""

    async def endpoint(request: Request) -> Response:
        return await (post if request.method == "POST" else get)(request)

    return endpoint


def _remove(paths: Iterable[Path]) -> None:
    """Remove uploaded files nothing will read."""
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def _display_name(name: str | None) -> str:
    """The client's file name, for messages only (never used as a path)."""
    cleaned = "".join(ch for ch in (name or "") if ch.isprintable())
    return Path(cleaned.replace("\\", "/")).name[:80] or "?"


def photo_view(
    batch: Batch,
    index: int,
    result: PhotoResult | None,
    lang: str,
    names: Mapping[str, str] | None = None,
) -> dict:
    """What the result page shows of one photo, every sentence already in `lang`; `names`: the
    catalog's title of each procedure code, as the posting prints it."""
    from qrcheck.links.verdict import describe

    assert result is not None
    names = names or {}
    if result.error is not None:
        params = {**result.error.params, "path": batch.jobs[index].name or f"#{index + 1}"}
        return {"index": index, "error": t(result.error.key, lang, **params), "codes": []}
    codes = []
    places = grid_positions(
        [code.located.center for code in result.codes],
        [code.located.side for code in result.codes],
    )
    for number, (code, (row, column)) in enumerate(zip(result.codes, places, strict=True), start=1):
        verdict = code.verdict
        sentences = [describe(verdict, lang)]
        live = code.live
        # what only the network could tell, as `qrcheck check` prints it; "no network" is said
        # once for the whole page, not on every code
        if (
            live is not None
            and code.action != "ok"
            and live.status not in ("ok", "redirected")
            and live.detail_key != "links.live_no_network"
        ):
            sentences.append(t(live.detail_key, lang, **live.detail_params))
        if code.reason:
            sentences.append(t(code.reason, lang))
        corners = [(float(x), float(y)) for x, y in code.located.corners]
        centre_x = sum(x for x, _ in corners) / len(corners)
        centre_y = sum(y for _, y in corners) / len(corners)
        codes.append(
            {
                "number": number,
                "anchor": f"p{index + 1}-c{number}",
                "points": " ".join(f"{x:.0f},{y:.0f}" for x, y in corners),
                "centre": (round(centre_x), round(centre_y)),
                "procedure": verdict.procedure or t(f"status.{verdict.status}", lang),
                "name": names.get(verdict.procedure or "", ""),
                "where": t("web_todo.where", lang, row=row, column=column),
                "grade": code.grade.grade,
                "status": t(f"status.{verdict.status}", lang),
                "action": code.action,
                "action_word": t(f"action.{code.action}", lang),
                "action_help": t(f"action_help.{code.action}", lang),
                "detail": " ".join(s for s in sentences if s),
            }
        )
    codes.sort(key=lambda c: ACTION_ORDER.index(c["action"]) if c["action"] in ACTION_ORDER else 9)
    short = min(result.width, result.height)
    sound = [c for c in codes if c["action"] in SOUND_ACTIONS]
    return {
        "index": index,
        "error": None,
        "codes": codes,
        # what needs doing, large, first; the sound ones folded into one line under them
        "todo": [c for c in codes if c["action"] not in SOUND_ACTIONS],
        "sound": sound,
        "sound_line": action_summary([c["action"] for c in sound], lang),
        "annotated": result.annotated is not None,
        "src": f"/batch/{batch.id}/photo/{index}.jpg",
        "view": f"/batch/{batch.id}/view/{index}.jpg",
        "width": result.width,
        # the annotated copy carries a legend band under the photo
        "height": result.height + legend_height(result.width, result.height),
        # number badges on the photo, readable on the phone's screen, and a reach around each
        # code at least a thumb wide (44 px) when the photo fills a phone's width
        "badge": max(12, round(result.width * BADGE_PX / PHONE_PX / 2)),
        "reach": max(12, math.ceil(result.width * TAP_PX / PHONE_PX / 2)),
        "stroke": max(3, short // 150),
        "retake": any(code["action"] == "retake" for code in codes) or not codes,
        "offline": any(
            c.live is not None and c.live.detail_key == "links.live_no_network"
            for c in result.codes
        ),
    }


def action_summary(actions: Iterable[str], lang: str) -> str:
    """ "7 in lại · 1 gỡ bỏ · 1 kiểm tra ngay · 14 tốt": how many codes call for each action,
    the most pressing first (in reprint-list words: reprint before remove before the rest)."""
    counts = Counter(actions)
    order = ("reprint", "remove", "investigate", "retake", "monitor", "ok")
    known = [a for a in order if counts[a]] + sorted(a for a in counts if a not in order)
    return " · ".join(f"{counts[a]} {t(f'action.{a}', lang)}" for a in known)


def view_copy(annotated: Path, target: Path, longest: int = VIEW_PIXELS) -> Path:
    """A copy of the annotated photo small enough for a phone's screen (made once)."""
    if target.is_file():
        return target
    with Image.open(annotated) as image:
        image.load()
        if max(image.size) > longest:
            image.thumbnail((longest, longest), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=82, optimize=True)
    atomic_write_bytes(target, buffer.getvalue())
    return target
