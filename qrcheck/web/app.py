"""The Starlette application: login, check a board, results, stable links, accounts.

Pages are rendered on the server with Jinja2 (templates/), styled by one local stylesheet
(static/), with no inline script or style, so the Content-Security-Policy needs no
'unsafe-inline'. Everything works without JavaScript; one small local script
(static/upload.js) only adds an upload progress bar. Every sentence comes from the message
catalog (qrcheck/i18n), in Vietnamese unless the user chose English (?lang=en, remembered in
a cookie).

This module builds the application (its state, middleware and route table); the handlers
are in auth.py, check.py, status.py and users.py, what they share in state.py, the result
page's photos in views.py.
"""

from __future__ import annotations

import contextlib
from importlib import resources
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from qrcheck.board.store import Store
from qrcheck.web import auth, check, status, users
from qrcheck.web.config import CatalogSource, WebConfig
from qrcheck.web.jobs import Checker
from qrcheck.web.pages import StatusPages
from qrcheck.web.security import Hashing, LoginLimiter, SecurityHeaders, Sessions
from qrcheck.web.state import WebState, by_method, not_allowed, not_found

HERE = Path(str(resources.files(__package__)))


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

    pages = StatusPages(config, source, uploads_dir=config.data / "imports")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
        yield
        await run_in_threadpool(checker.close)
        sessions.close()

    app = Starlette(
        routes=[
            # one route per path, so that a 405's Allow lists every method the path takes
            Route("/", auth.home, methods=["GET"]),
            Route("/login", by_method(auth.login_page, auth.login_post), methods=["GET", "POST"]),
            Route("/logout", auth.logout, methods=["POST"]),
            Route("/check", by_method(check.check_page, check.check_post), methods=["GET", "POST"]),
            Route("/batch/{batch}", check.batch_page),
            Route("/batch/{batch}/photo/{index:int}.jpg", check.annotated),
            Route("/batch/{batch}/view/{index:int}.jpg", check.annotated),
            Route("/p/{code}", status.stable_link),
            Route("/boards", status.boards_page),
            Route("/reprint", status.reprint_page),
            Route("/reprint/sheet.pdf", status.reprint_sheet),
            Route("/crop/{code:int}.jpg", status.crop_image),
            Route("/todo", status.todo_page),
            Route("/todo/done", status.todo_done, methods=["POST"]),
            Route("/todo.xlsx", status.todo_download),
            Route("/catalog", status.catalog_page),
            Route(
                "/catalog/import",
                by_method(status.import_page, status.import_post),
                methods=["GET", "POST"],
            ),
            Route("/catalog/import/apply", status.import_apply, methods=["POST"]),
            Route("/users", by_method(users.users_page, users.users_post), methods=["GET", "POST"]),
            Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
        ],
        exception_handlers={404: not_found, 405: not_allowed},
        lifespan=lifespan,
    )
    app.state.web = WebState(
        config=config,
        source=source,
        sessions=sessions,
        limiter=limiter,
        hashing=hashing,
        checker=checker,
        env=env,
        pages=pages,
        uploads=uploads,
        annotated_dir=annotated_dir,
    )
    app.state.checker = checker
    app.state.sessions = sessions
    return SecurityHeaders(app)  # type: ignore[return-value]
