"""The command line: thin commands over the library, speaking the user's language.

Each command parses its options, calls one library function and renders the typed result with
rich. Exit status: 0 done, 1 done but something needs attention (catalog errors, a posting that
failed), 2 the command could not run (bad usage, unreadable input).
"""

import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from qrcheck import __version__
from qrcheck.cli.catalog import cmd_diff, cmd_import, cmd_validate
from qrcheck.cli.check import cmd_check, cmd_links
from qrcheck.cli.common import Context, err, out, tr
from qrcheck.cli.generate import cmd_generate
from qrcheck.cli.history import cmd_report, cmd_reprint, cmd_todo
from qrcheck.cli.serve import cmd_serve
from qrcheck.cli.users import cmd_user_add, cmd_user_disable, cmd_user_list, cmd_user_password
from qrcheck.errors import QrcheckError
from qrcheck.i18n import resolve_language, t


# ---------------------------------------------------------------------------------------------
# the application
def version_callback(value: bool) -> None:
    if value:
        out.print(f"qrcheck {__version__}")
        raise typer.Exit()


def build_app(lang: str) -> typer.Typer:
    """The typer application with help texts in `lang`."""

    def h(key: str) -> str:
        return t(key, lang)

    app = typer.Typer(
        no_args_is_help=True,
        add_completion=False,
        help=h("help.app"),
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def root(
        version: Annotated[
            bool,
            typer.Option(
                "--version", callback=version_callback, is_eager=True, help=h("help.version")
            ),
        ] = False,
    ) -> None:
        pass

    catalog_app = typer.Typer(no_args_is_help=True, help=h("help.catalog"), rich_markup_mode=None)
    catalog_app.command("validate", help=h("help.validate"))(cmd_validate)
    catalog_app.command("diff", help=h("help.diff"))(cmd_diff)
    catalog_app.command("import", help=h("help.import"))(cmd_import)
    app.add_typer(catalog_app, name="catalog")
    app.command("generate", help=h("help.generate"))(cmd_generate)
    app.command("check", help=h("help.check"))(cmd_check)
    app.command("links", help=h("links.help"))(cmd_links)
    app.command("reprint", help=h("store.help_reprint"))(cmd_reprint)
    app.command("todo", help=h("todo.help"))(cmd_todo)
    app.command("report", help=h("history.help_report"))(cmd_report)
    user_app = typer.Typer(no_args_is_help=True, help=h("user.help"), rich_markup_mode=None)
    user_app.command("add", help=h("user.help_add"))(cmd_user_add)
    user_app.command("password", help=h("user.help_password"))(cmd_user_password)
    user_app.command("list", help=h("user.help_list"))(cmd_user_list)
    user_app.command("disable", help=h("user.help_disable"))(cmd_user_disable)
    app.add_typer(user_app, name="user")
    app.command("serve", help=h("serve.help"))(cmd_serve)
    return app


def _argv_language(argv: Sequence[str]) -> str | None:
    for index, arg in enumerate(argv):
        if arg == "--lang" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `qrcheck` command."""
    args = list(sys.argv[1:] if argv is None else argv)
    Context.lang = resolve_language(_argv_language(args))
    app = build_app(Context.lang)
    try:
        app(args=args, prog_name="qrcheck", standalone_mode=True)
    except QrcheckError as exc:
        err.print(f"[bold red]{tr('cli.error_prefix')}[/] {tr(exc.key, **exc.params)}")
        sys.exit(2)


if __name__ == "__main__":
    main()
