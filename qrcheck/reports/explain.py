"""What staff are told about one code of a check, in sentences: the same words on the command
line's notes and on the web page's result cards."""

from __future__ import annotations

from qrcheck.board.results import CodeResult
from qrcheck.i18n import t
from qrcheck.links.model import REACHED
from qrcheck.links.verdict import describe


def code_sentences(code: CodeResult, lang: str) -> list[str]:
    """The verdict's detail, what only the network could tell (for a code to act on; "no
    network" is said once for the whole run, not on every code), and why the action: the
    sentences that are not empty, in that order."""
    sentences = [describe(code.verdict, lang)]
    live = code.live
    if (
        live is not None
        and code.action != "ok"
        and live.status not in REACHED
        and live.detail_key != "links.live_no_network"
    ):
        sentences.append(t(live.detail_key, lang, **live.detail_params))
    if code.reason:
        sentences.append(t(code.reason, lang))
    return [s for s in sentences if s]
