"""Checking a board: the upload form, the photos saved and handed to the checker, the batch's
result page and its annotated photos."""

from __future__ import annotations

import contextlib
import secrets
import shutil
from collections.abc import Iterable
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from qrcheck.board.check import finish_round
from qrcheck.board.store import Store
from qrcheck.errors import PhotoError, QrcheckError
from qrcheck.i18n import t
from qrcheck.vision.photos import probe_photo
from qrcheck.web.jobs import Batch
from qrcheck.web.security import Session, csrf_ok
from qrcheck.web.state import (
    WebState,
    error_page,
    guarded,
    language,
    logged_in,
    login_redirect,
    render,
)
from qrcheck.web.views import _display_name, action_summary, photo_view, view_copy


async def locations(request: Request) -> list[str]:
    web: WebState = request.app.state.web

    def read() -> list[str]:
        with Store(web.config.db) as store:
            return store.locations()[:200]

    return await run_in_threadpool(read)


async def check_page(request: Request) -> Response:
    web: WebState = request.app.state.web
    session = await guarded(request)
    if not isinstance(session, Session):
        return session
    return render(
        request,
        "check.html",
        session,
        locations=await locations(request),
        # "take this photo again" links carry the board's name
        location=" ".join(request.query_params.get("location", "").split())[:120]
        or session.data.get("location", ""),
        errors=[],
        limit_mb=web.config.max_upload_mb,
        max_files=web.config.max_files,
    )


async def check_post(request: Request) -> Response:
    web: WebState = request.app.state.web
    session = logged_in(request)
    if session is None:
        return login_redirect(request)
    lang = language(request)
    limit = web.config.max_upload_mb * 1024 * 1024

    async def refuse(errors: list[str], status: int, location: str = "") -> Response:
        return render(
            request,
            "check.html",
            session,
            status,
            locations=await locations(request),
            location=location or session.data.get("location", ""),
            errors=errors,
            limit_mb=web.config.max_upload_mb,
            max_files=web.config.max_files,
        )

    length = request.headers.get("content-length", "")
    size = int(length) if length.isdigit() else None
    if size is None or size > limit:
        if size is not None and size <= 4 * limit:  # read it so the client sees the answer
            async for _ in request.stream():
                pass
        megabytes = f"{size / 1048576:.0f}" if size is not None else "?"
        message = t("web.too_big", lang, megabytes=megabytes, limit=web.config.max_upload_mb)
        return await refuse([message], 413)
    # the form parser's own limit is far above ours, so that we count the photos and say
    # it in a sentence (its own error is in English); past it the count is "more than"
    most = max(100, 4 * web.config.max_files)
    try:
        form = await request.form(max_files=most, max_fields=10, max_part_size=64 * 1024)
    except HTTPException as exc:
        if "files" in str(exc.detail):
            message = t("web.too_many", lang, count=f"> {most}", limit=web.config.max_files)
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
        if len(files) > web.config.max_files:
            errors.append(t("web.too_many", lang, count=len(files), limit=web.config.max_files))
        if not location:
            errors.append(t("web.no_location", lang))
        if errors:
            return await refuse(errors, 400, location)
        for upload in files:
            token = secrets.token_urlsafe(18)
            target = web.uploads / f"{token}.photo"
            name = _display_name(upload.filename)
            stored.append((target, web.annotated_dir / f"{token}.jpg", name))
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
                probe_photo(path, web.config.max_pixels)
            except PhotoError as exc:
                refused[index] = exc
        return refused

    refused = await run_in_threadpool(sniff)
    if len(refused) == len(stored):  # nothing to check: say why on the form itself
        _remove(path for path, _, _ in stored)
        problems = [
            t(exc.key, lang, **{**exc.params, "path": stored[i][2]}) for i, exc in refused.items()
        ]
        return await refuse(problems, 400, location)
    session.data["location"] = location
    try:
        # the photos refused are named on the result page, beside the others' results
        batch = web.checker.submit(session.user or "", location, lang, stored, refused)
    except BaseException:
        _remove(path for path, _, _ in stored)
        raise
    return RedirectResponse(f"/batch/{batch.id}", status_code=303)


def own_batch(request: Request, session: Session) -> Batch | None:
    web: WebState = request.app.state.web
    batch = web.checker.get(request.path_params["batch"])
    if batch is None or (batch.owner != session.user and session.role != "admin"):
        return None
    return batch


async def batch_page(request: Request) -> Response:
    web: WebState = request.app.state.web
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
    catalog, _ = web.source.get()
    names = {code: p.name for code, p in catalog.as_of(web.config.today()).procedures.items()}
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


def _save(upload: UploadFile, target: Path) -> None:
    upload.file.seek(0)
    with target.open("xb") as out:
        shutil.copyfileobj(upload.file, out, 1 << 20)


def _remove(paths: Iterable[Path]) -> None:
    """Remove uploaded files nothing will read."""
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
