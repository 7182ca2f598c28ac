"""The pages about the boards and the catalog: the stable link a posting's QR code carries
(/p/CODE), boards, reprint list and sheet, to-do list, crops, catalog changes and the catalog
import (admins); the work itself is qrcheck.web.pages."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from qrcheck.board.store import Store
from qrcheck.board.todo import KIND_KEYS
from qrcheck.errors import QrcheckError
from qrcheck.i18n import t
from qrcheck.web.check import _save
from qrcheck.web.pages import IMPORT_SUFFIXES
from qrcheck.web.security import Session, csrf_ok
from qrcheck.web.state import (
    XLSX_TYPE,
    WebState,
    admin_form,
    download,
    error_page,
    guarded,
    lang_switch,
    language,
    logged_in,
    login_redirect,
    posted_form,
    render,
    session_of,
)
from qrcheck.web.views import _display_name

CODE = re.compile(r"\d\.\d{6}")


async def stable_link(request: Request) -> Response:
    web: WebState = request.app.state.web
    code = request.path_params["code"]
    if (switch := lang_switch(request)) is not None:
        return switch
    session = session_of(request)
    catalog, _ = web.source.get()
    today = web.config.today()
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
        with Store(web.config.db) as store:
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


async def boards_page(request: Request) -> Response:
    web: WebState = request.app.state.web
    session = await guarded(request)
    if not isinstance(session, Session):
        return session
    lang = language(request)
    boards, scans, show_scans = await run_in_threadpool(web.pages.boards, lang)
    return render(
        request, "boards.html", session, boards=boards, scans=scans, show_scans=show_scans
    )


async def reprint_page(request: Request) -> Response:
    web: WebState = request.app.state.web
    session = await guarded(request)
    if not isinstance(session, Session):
        return session
    items = await run_in_threadpool(web.pages.reprint_items, language(request))
    return render(request, "reprint.html", session, items=items)


async def reprint_sheet(request: Request) -> Response:
    web: WebState = request.app.state.web
    session = await guarded(request)
    if not isinstance(session, Session):
        return session
    made = await run_in_threadpool(web.pages.sheet)
    if made is None:
        return error_page(request, session, "store.sheet_empty", 404)
    pdf, name = made
    return download(pdf, "application/pdf", name)


async def todo_page(request: Request) -> Response:
    web: WebState = request.app.state.web
    session = await guarded(request)
    if not isinstance(session, Session):
        return session
    boards = await run_in_threadpool(web.pages.todo, language(request))
    notice = session.data.pop("todo_notice", None)
    return render(request, "todo.html", session, boards=boards, notice=notice)


async def todo_done(request: Request) -> Response:
    """Close one task from the phone ("Đã thay xong", "Đã gỡ", "Đã kiểm tra")."""
    web: WebState = request.app.state.web
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
    closed = await run_in_threadpool(web.pages.close_task, kind, location, subject, session.user)
    if not closed:
        return error_page(request, session, "todo.not_closed", 400)
    word = t(KIND_KEYS.get(kind, "todo.kind_print"), lang)
    session.data["todo_notice"] = t("todo.closed", lang, task=word, board=location)
    return RedirectResponse("/todo", status_code=303)


async def todo_download(request: Request) -> Response:
    web: WebState = request.app.state.web
    session = await guarded(request)
    if not isinstance(session, Session):
        return session
    data, name = await run_in_threadpool(web.pages.todo_xlsx, language(request))
    return download(data, XLSX_TYPE, name)


async def crop_image(request: Request) -> Response:
    """The crop of a posting nobody could name (a thumbnail on the reprint and boards
    pages)."""
    web: WebState = request.app.state.web
    session = await guarded(request)
    if not isinstance(session, Session):
        return session
    data = await run_in_threadpool(web.pages.crop, int(request.path_params["code"]))
    if data is None:
        return error_page(request, session, "web.not_found", 404)
    return Response(data, media_type="image/jpeg", headers={"cache-control": "no-store"})


async def catalog_page(request: Request) -> Response:
    web: WebState = request.app.state.web
    session = await guarded(request)
    if not isinstance(session, Session):
        return session
    upcoming, versions = await run_in_threadpool(web.pages.catalog_changes, language(request))
    return render(request, "catalog.html", session, upcoming=upcoming, versions=versions)


async def import_page(request: Request) -> Response:
    session = await guarded(request, admin=True)
    if not isinstance(session, Session):
        return session
    return render(request, "import.html", session, preview=None, errors=[])


async def import_post(request: Request) -> Response:
    web: WebState = request.app.state.web
    session = logged_in(request)
    if session is None:
        return login_redirect(request)
    if session.role != "admin":
        return error_page(request, session, "web_pages.admin_only", 403)
    lang = language(request)
    length = request.headers.get("content-length", "")
    size = int(length) if length.isdigit() else None
    limit = web.config.max_upload_mb * 1024 * 1024
    if size is None or size > limit:
        message = t("web_pages.import_too_big", lang, limit=web.config.max_upload_mb)
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
        target = web.pages.upload_target(suffix)
        await run_in_threadpool(_save, upload, target)
    finally:
        await form.close()
    try:
        preview, prepared = await run_in_threadpool(
            web.pages.prepare, target, missing, _display_name(upload.filename), lang
        )
    except QrcheckError as exc:
        target.unlink(missing_ok=True)
        message = t(exc.key, lang, **exc.params)
        return render(request, "import.html", session, 400, preview=None, errors=[message])
    token = secrets.token_urlsafe(18)
    session.data["import"] = (token, prepared, preview["source"])
    return render(request, "import.html", session, preview=preview, token=token, errors=[])


async def import_apply(request: Request) -> Response:
    web: WebState = request.app.state.web
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
        await run_in_threadpool(web.pages.apply, held[1], held[2])
    except QrcheckError as exc:
        message = t(exc.key, lang, **exc.params)
        return render(request, "import.html", session, 409, preview=None, errors=[message])
    # said as a success, not in the error style, with the way to what now needs reprinting
    done = t("web_todo.import_done", lang, file=held[2])
    return render(request, "import.html", session, preview=None, errors=[], done=done)
