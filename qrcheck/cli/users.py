"""`qrcheck user add | password | list | disable`: the staff web page's accounts."""

import sys
from typing import Annotated

import typer

from qrcheck.cli.common import DbOpt, LangOpt, _setup, fail, open_store, out, tr

# ---------------------------------------------------------------------------------------------
# the web application: accounts and the server
PasswordStdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input")
]


def cmd_user_add(
    name: Annotated[str, typer.Argument(help="Account name", show_default=False)],
    admin: Annotated[bool, typer.Option("--admin", help="Administrator (users, catalog)")] = False,
    password_stdin: PasswordStdinOpt = False,
    db: DbOpt = None,
    lang: LangOpt = None,
) -> None:
    from qrcheck.board.store import StoreError
    from qrcheck.web.security import MIN_PASSWORD, USER_NAME, hash_password

    _setup(lang)
    if not USER_NAME.fullmatch(name):
        fail(tr("user.bad_name", name=name))
    password = read_new_password(password_stdin, MIN_PASSWORD)
    role = "admin" if admin else "staff"
    store = open_store(db)
    try:
        store.add_user(name, hash_password(password), role)
    except StoreError as exc:
        fail(tr(exc.key, **exc.params))
    finally:
        store.close()
    out.print(tr("user.added", name=name, role=role))


def read_new_password(from_stdin: bool, shortest: int) -> str:
    """A new password: one line of standard input, or asked twice without echo."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(tr("user.password"), hide_input=True)
        if typer.prompt(tr("user.password_again"), hide_input=True) != password:
            fail(tr("user.password_mismatch"))
    if len(password) < shortest:
        fail(tr("user.password_short", length=shortest))
    return password


def cmd_user_password(
    name: Annotated[str, typer.Argument(help="Account name", show_default=False)],
    password_stdin: PasswordStdinOpt = False,
    db: DbOpt = None,
    lang: LangOpt = None,
) -> None:
    from qrcheck.web.security import MIN_PASSWORD, hash_password

    _setup(lang)
    store = open_store(db)
    try:
        account = store.account(name) or fail(tr("web_users.no_such", name=name))
        password = read_new_password(password_stdin, MIN_PASSWORD)
        store.set_password_hash(account.name, hash_password(password))
        store.end_sessions(account.name)  # it logs in again, with the new password
    finally:
        store.close()
    out.print(tr("user.password_set", name=account.name))


def cmd_user_list(db: DbOpt = None, lang: LangOpt = None) -> None:
    _setup(lang)
    store = open_store(db)
    try:
        accounts = store.accounts()
    finally:
        store.close()
    if not accounts:
        out.print(tr("serve.no_users"))
        return
    for account in accounts:
        role = tr("web.role_admin" if account.role == "admin" else "web.role_staff")
        state = tr("web_users.state_disabled" if account.disabled else "web_users.state_active")
        out.print(f"{account.name}\t{role}\t{state}\t{account.created_at}")


def cmd_user_disable(
    name: Annotated[str, typer.Argument(help="Account name", show_default=False)],
    enable: Annotated[bool, typer.Option("--enable", help="Enable the account again")] = False,
    db: DbOpt = None,
    lang: LangOpt = None,
) -> None:
    _setup(lang)
    store = open_store(db)
    try:
        account = store.account(name) or fail(tr("web_users.no_such", name=name))
        store.set_disabled(account.name, not enable)
        if not enable:
            store.end_sessions(account.name)
    finally:
        store.close()
    key = "web_users.enabled" if enable else "web_users.disabled"
    out.print(tr(key, name=account.name))
