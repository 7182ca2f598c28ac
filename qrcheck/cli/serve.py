"""`qrcheck serve`: the staff web page."""

from pathlib import Path
from typing import Annotated

import typer

from qrcheck.cli.common import (
    CaBundleOpt,
    CatalogOpt,
    DbOpt,
    LangOpt,
    ProxyOpt,
    _setup,
    default_catalog,
    err,
    live_options,
    open_store,
    open_valid_catalog,
    out,
    record_catalog,
    tr,
)


def cmd_serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on")] = 8000,
    data: Annotated[
        Path,
        typer.Option("--data", help="Folder for uploaded and annotated photos"),
    ] = Path("data/web"),
    workers: Annotated[int, typer.Option("--workers", help="Processes checking photos")] = 0,
    offline: Annotated[
        bool, typer.Option("--offline", help="No live link checks (catalog comparison only)")
    ] = False,
    ca_bundle: CaBundleOpt = None,
    proxy: ProxyOpt = None,
    db: DbOpt = None,
    catalog: CatalogOpt = None,
    lang: LangOpt = None,
) -> None:
    import uvicorn

    from qrcheck.board.store import default_db_path
    from qrcheck.web import WebConfig, create_app

    _setup(lang)
    live = None if offline else live_options(ca_bundle, proxy)  # bad settings: said first
    cat = open_valid_catalog(catalog)
    db_path = db or default_db_path()
    store = open_store(db_path)
    try:
        record_catalog(store, cat)
        has_users = store.db.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None
    finally:
        store.close()
    if not has_users:
        err.print(f"[yellow]{tr('serve.no_users')}[/]")
    config = WebConfig(
        db=db_path,
        catalog=catalog or default_catalog(),
        data=data,
        live=live,
    )
    if workers > 0:
        config.workers = workers
    app = create_app(config)
    out.print(tr("serve.listening", host=host, port=port))
    uvicorn.run(app, host=host, port=port, proxy_headers=True, log_level="info")
