"""`qrcheck report` as one self-contained HTML file: the postings of every board, their trend,
when the fading ones will reach grade D, procedures seen nowhere, ended procedures still up.

The file needs nothing outside itself (no network, no fonts, no scripts): thumbnails are JPEG
data: URIs, trend charts inline SVG. It prints on A4 (print stylesheet, one board per page).
Every text from the catalog or the photos is escaped.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import escape
from pathlib import Path

from qrcheck.board.reprint import lost_postings, lost_reason, reprint_list
from qrcheck.board.results import ACTIONS
from qrcheck.board.store import Store
from qrcheck.catalog.model import CatalogView
from qrcheck.center import CenterSettings
from qrcheck.grade.fading import GRADE_D_CONTRAST, project_grade_d
from qrcheck.i18n import t
from qrcheck.links.verdict import Verdict, describe, judge

#: side of a thumbnail, pixels
THUMB_PX = 96
#: margin around a code's corners when cropping its thumbnail, as a share of its size
THUMB_MARGIN = 0.15
#: statuses of a posting whose procedure is no longer in force
ENDED = ("abolished", "replaced")


@dataclass
class Sighting:
    """One run's best view of a posting (as the check keeps the best of several photos)."""

    run: str
    checked_at: str
    photo: str
    corners: list
    score: float
    grade: str
    contrast: float | None
    status: str
    detail_key: str
    detail_params: dict


@dataclass
class Track:
    """A posting's sightings, one per run, oldest first."""

    sightings: list[Sighting] = field(default_factory=list)

    @property
    def latest(self) -> Sighting:
        return self.sightings[-1]


def contrast_of(metrics: dict) -> float | None:
    """The stored symbol contrast value (None when the metrics do not hold it)."""
    entry = metrics.get("symbol_contrast") if isinstance(metrics, dict) else None
    if isinstance(entry, dict) and isinstance(entry.get("value"), int | float):
        return float(entry["value"])
    return None


def tracks(store: Store, since: date | None = None) -> dict[tuple[str, str], Track]:
    """Every posting's sightings keyed by (location, text), from `since` on."""
    sql = (
        "SELECT p.location, p.text, k.run, k.checked_at, k.photo, c.corners, c.metrics, c.score,"
        " c.grade, c.status, c.detail_key, c.detail_params FROM codes c"
        " JOIN checks k ON k.id = c.check_id JOIN postings p ON p.id = c.posting_id"
    )
    params: tuple = ()
    if since is not None:
        sql += " WHERE k.checked_at >= ?"
        params = (since.isoformat(),)
    sql += " ORDER BY k.checked_at, c.idx"
    result: dict[tuple[str, str], Track] = {}
    for row in store.db.execute(sql, params):
        location, text, run, checked_at, photo, corners, metrics, score = row[:8]
        grade, status, detail_key, detail_params = row[8:]
        sighting = Sighting(
            run,
            checked_at,
            photo,
            json.loads(corners or "[]"),
            float(score),
            grade,
            contrast_of(json.loads(metrics or "{}")),
            status,
            detail_key,
            json.loads(detail_params or "{}"),
        )
        track = result.setdefault((location, text), Track())
        if track.sightings and track.sightings[-1].run == run:
            if sighting.score > track.sightings[-1].score:
                track.sightings[-1] = sighting
        else:
            track.sightings.append(sighting)
    return result


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp).replace(tzinfo=None)


def projection(track: Track) -> date | None:
    """When the posting's contrast reaches grade D at its current rate (None: not fading)."""
    points = [(_when(s.checked_at), s.contrast) for s in track.sightings if s.contrast is not None]
    return project_grade_d(points)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# pictures


def thumbnails(wanted: dict[tuple[str, str], Sighting]) -> dict[tuple[str, str], str | None]:
    """A JPEG data: URI of each posting's code cropped from its photo (None: photo gone)."""
    from PIL import Image

    from qrcheck.errors import QrcheckError
    from qrcheck.vision.photos import load_photo

    by_photo: dict[str, list[tuple[str, str]]] = {}
    for key, sighting in wanted.items():
        by_photo.setdefault(sighting.photo, []).append(key)
    result: dict[tuple[str, str], str | None] = {}
    for photo_path, keys in by_photo.items():
        try:
            rgb = load_photo(Path(photo_path)).rgb
        except (QrcheckError, OSError, ValueError):
            result.update(dict.fromkeys(keys))
            continue
        height, width = rgb.shape[:2]
        for key in keys:
            corners = wanted[key].corners
            if not corners:
                result[key] = None
                continue
            xs = [float(c[0]) for c in corners]
            ys = [float(c[1]) for c in corners]
            margin = THUMB_MARGIN * max(max(xs) - min(xs), max(ys) - min(ys), 1.0)
            left, top = max(0, int(min(xs) - margin)), max(0, int(min(ys) - margin))
            right = min(width, int(max(xs) + margin) + 1)
            bottom = min(height, int(max(ys) + margin) + 1)
            if right <= left or bottom <= top:
                result[key] = None
                continue
            image = Image.fromarray(rgb[top:bottom, left:right])
            image.thumbnail((THUMB_PX, THUMB_PX), Image.Resampling.LANCZOS)
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=80)
            result[key] = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
    return result


def trend_svg(track: Track, lang: str, width: int = 140, height: int = 40) -> str:
    """A small inline SVG line of the posting's symbol contrast (score when not stored)."""
    use_contrast = any(s.contrast is not None for s in track.sightings)
    points = [
        (_when(s.checked_at), s.contrast if use_contrast else s.score)
        for s in track.sightings
        if (s.contrast is not None or not use_contrast)
    ]
    top = 1.0 if use_contrast else 4.0
    pad = 4.0
    start = points[0][0]
    span = max((points[-1][0] - start).total_seconds(), 1.0)

    def xy(when: datetime, value: float) -> tuple[float, float]:
        x = pad + (width - 2 * pad) * (
            (when - start).total_seconds() / span if len(points) > 1 else 0.5
        )
        y = pad + (height - 2 * pad) * (1 - max(0.0, min(top, value)) / top)
        return round(x, 1), round(y, 1)

    label = t("history.trend_label" if use_contrast else "history.trend_label_score", lang)
    parts = [
        f'<svg class="trend" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' role="img" aria-label="{escape(label)}">',
        f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" fill="#fff"'
        ' stroke="#bbb"/>',
    ]
    d_line = GRADE_D_CONTRAST if use_contrast else 1.5
    _, y_d = xy(start, d_line)
    parts.append(
        f'<line x1="{pad}" y1="{y_d}" x2="{width - pad}" y2="{y_d}" stroke="#d55e00"'
        ' stroke-dasharray="3 2" stroke-width="1"/>'
    )
    coords = [xy(w, v) for w, v in points]
    if len(coords) > 1:
        path = " ".join(f"{x},{y}" for x, y in coords)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#0072b2" stroke-width="1.5"/>')
    for (x, y), (when, value) in zip(coords, points, strict=True):
        parts.append(
            f'<circle cx="{x}" cy="{y}" r="2" fill="#0072b2"><title>'
            f"{when:%d/%m/%Y}: {value:.2f}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# the page

STYLE = """
@page { size: A4; margin: 12mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Noto Sans", Arial, sans-serif; font-size: 10pt;
  color: #111; background: #fff; margin: 1.5em auto; max-width: 190mm; padding: 0 .5em; }
h1 { font-size: 16pt; margin: 0 0 .2em; }
h2 { font-size: 13pt; margin: 1.2em 0 .4em; border-bottom: 1px solid #999; }
p.meta { color: #444; margin: 0 0 1em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #ccc; padding: 3px 5px; vertical-align: top; text-align: left; }
/* words are never split letter by letter; only a link may break anywhere (it has no spaces) */
th, td { word-break: normal; overflow-wrap: normal; hyphens: manual; }
td.verdict { min-width: 15em; }
.link { overflow-wrap: anywhere; }
/* a wide table scrolls inside its box on a phone; the page itself never does */
div.scroll { overflow-x: auto; max-width: 100%; -webkit-overflow-scrolling: touch; }
details.tech { margin-top: .3em; color: #444; font-size: 8.5pt; }
details.tech dl { margin: .2em 0 0; }
details.tech dt { font-weight: bold; }
details.tech dd { margin: 0 0 .2em; }
@media (max-width: 600px) { body { margin: .8em; font-size: 11pt; } }
th { background: #f2f2f2; }
td.thumb { width: 104px; text-align: center; }
td.thumb img { display: block; margin: auto; }
img.crop { display: block; max-width: 100%; max-height: 14rem; margin-top: .4rem; }
.missing { color: #a00; font-style: italic; font-size: 8.5pt; }
.name { color: #444; font-size: 8.5pt; }
.projection { color: #a04000; font-weight: bold; font-size: 9pt; }
p.unreadable { color: #b03000; font-weight: bold; }
.action-ok { color: #007a55; } .action-monitor { color: #9a6a00; }
.action-reprint, .action-investigate { color: #b03000; font-weight: bold; }
.action-remove { color: #8a3c6a; font-weight: bold; } .action-retake { color: #005a8c; }
tr { break-inside: avoid; page-break-inside: avoid; }
@media print {
  body { margin: 0; max-width: none; font-size: 9pt; }
  section.board, section.unseen, section.ended { break-before: page; page-break-before: always; }
  th { background: #fff; }
}
"""


def _action(action: str, lang: str) -> str:
    word = escape(t(f"action.{action}", lang))
    return f'<span class="action-{escape(action)}">{word}</span>'


def _day(stamp: str) -> str:
    return _when(stamp).strftime("%d/%m/%Y") if stamp else "—"


def _cell(content: str | tuple[str, str]) -> str:
    """A table cell of HTML (already escaped), or (class, HTML)."""
    if isinstance(content, tuple):
        return f'<td class="{content[0]}">{content[1]}</td>'
    return f"<td>{content}</td>"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str | tuple[str, str]]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="scroll">{table}</div>'


def history_html(
    store: Store,
    states: Sequence,
    view: CatalogView,
    center: CenterSettings,
    lang: str,
    when: date,
    since: date | None = None,
    unseen_days: int = 90,
) -> str:
    """The whole report page (see the module docstring)."""
    all_tracks = tracks(store, since)
    states = [s for s in states if (s.location, s.text) in all_tracks]
    latest = {key: track.latest for key, track in all_tracks.items()}
    pictures = thumbnails({(s.location, s.text): latest[(s.location, s.text)] for s in states})

    def tr(key: str, **params: object) -> str:
        return escape(t(key, lang, **params))

    out: list[str] = [
        f'<!DOCTYPE html>\n<html lang="{escape(lang)}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{tr('history.title')}</title><style>{STYLE}</style></head><body>",
        f"<header><h1>{tr('history.title')}</h1>",
        f'<p class="meta">{escape(center.name)} · {tr("history.as_of", date=f"{when:%d/%m/%Y}")}',
    ]
    if since is not None:
        out.append(f" · {tr('history.since', date=f'{since:%d/%m/%Y}')}")
    out.append("</p></header>")

    # summary
    by_action = Counter(s.action for s in states)
    unreadable: dict[str, list] = {}
    lost_all = lost_postings(store, center.round_minutes)
    for lost in lost_all:
        unreadable.setdefault(lost.location, []).append(lost)
    locations = sorted({s.location for s in states} | set(unreadable))
    out.append(f'<section class="summary"><h2>{tr("history.summary")}</h2>')
    lost_count = sum(len(v) for v in unreadable.values())
    by_action["reprint"] += lost_count  # postings whose code no reader decodes: to reprint
    out.append(
        "<p>"
        + tr("history.summary_counts", postings=len(states) + lost_count, locations=len(locations))
        + "</p>"
    )
    rows = [[_action(a, lang), str(by_action[a])] for a in ACTIONS if by_action[a]]
    if rows:
        out.append(_table([t("history.col_action", lang), t("history.col_count", lang)], rows))
    # the same count as the reprint list (which adds changes that take effect soon)
    to_print = reprint_list(store, view, center, center.announce_days, lost=lost_all)
    out.append(f'<p class="to-print">{tr("history.to_print", count=len(to_print))}</p>')
    out.append("</section>")

    # per board
    for location in locations:
        here = sorted(
            (s for s in states if s.location == location),
            key=lambda s: (s.procedure or "~", s.text),
        )
        name = escape(location) or tr("history.no_location")
        out.append(f'<section class="board"><h2>{name}</h2>')
        # postings of its latest round whose code no reader decodes any more
        for lost in unreadable.get(location, []):
            out.append(f'<p class="unreadable">{escape(lost_reason(lost).text(lang))}')
            crop = store.crop(lost.code_id) if lost.code is None else None
            if crop:
                data = base64.b64encode(crop).decode("ascii")
                alt = tr("web_pages.crop_alt")
                src = f"data:image/jpeg;base64,{data}"
                out.append(f'<br><img class="crop" src="{src}" alt="{alt}">')
            out.append("</p>")
        rows = []
        for state in here:
            key = (state.location, state.text)
            track = all_tracks[key]
            picture = pictures.get(key)
            if picture is None:
                thumb = f'<span class="missing">{tr("history.photo_missing")}</span>'
            else:
                thumb = (
                    f'<img src="{picture}" alt="{escape(state.procedure or "")}"'
                    f' width="{THUMB_PX}">'
                )
            proc = view.procedures.get(state.procedure or "")
            code = escape(state.procedure or t(f"status.{state.status}", lang))
            if proc is not None:
                code += f'<div class="name">{escape(proc.name)}</div>'
            # what the code holds (a link with its UUID) is for the IT officer, in the details
            sentence, technical = _verdict_sentence(state, track, view, center, lang)
            trend = trend_svg(track, lang)
            crossing = projection(track)
            if crossing is not None:
                month = f"{crossing:%m/%Y}"
                trend += f'<div class="projection">{tr("history.projection", month=month)}</div>'
            rows.append(
                [
                    ("thumb", thumb),
                    code,
                    escape(state.grade),
                    (
                        "verdict",
                        f"<b>{tr(f'status.{state.status}')}</b>"
                        + (f"<br>{sentence}" if sentence else "")
                        + technical,
                    ),
                    _action(state.action, lang),
                    escape(_day(state.last_seen)),
                    trend,
                ]
            )
        headers = [
            t(k, lang)
            for k in (
                "history.col_thumb",
                "history.col_code",
                "history.col_grade",
                "history.col_link",
                "history.col_action",
                "history.col_last_seen",
                "history.col_trend",
            )
        ]
        if rows:
            out.append(_table(headers, rows))
        out.append("</section>")
    if not locations:
        out.append(f"<p>{tr('history.no_postings')}</p>")

    # procedures seen on no board lately
    cutoff = when - timedelta(days=unseen_days)
    seen = {
        s.procedure
        for s in states
        if s.procedure and s.last_seen and _when(s.last_seen).date() >= cutoff
    }
    unseen = sorted((p for p in view.active() if p.code not in seen), key=lambda p: p.code)
    out.append(f'<section class="unseen"><h2>{tr("history.unseen_title", days=unseen_days)}</h2>')
    if unseen:
        out.append(f"<p>{tr('history.unseen_count', count=len(unseen))}</p>")
        out.append(
            _table(
                [
                    t("history.col_code", lang),
                    t("history.col_name", lang),
                    t("history.col_field", lang),
                ],
                [[escape(p.code), escape(p.name), escape(p.field)] for p in unseen],
            )
        )
    else:
        out.append(f"<p>{tr('history.unseen_none')}</p>")
    out.append("</section>")

    # abolished or replaced procedures still on a wall
    ended = sorted(
        (s for s in states if s.status in ENDED), key=lambda s: (s.location, s.procedure or "")
    )
    out.append(f'<section class="ended"><h2>{tr("history.ended_title")}</h2>')
    if ended:
        rows = []
        for state in ended:
            proc = view.procedures.get(state.procedure or "")
            successor = proc.replaced_by if proc is not None and proc.replaced_by else "—"
            rows.append(
                [
                    escape(state.location) or tr("history.no_location"),
                    escape(state.procedure or "—"),
                    tr(f"status.{state.status}"),
                    escape(successor),
                    escape(_day(state.last_seen)),
                ]
            )
        headers = [
            t(k, lang)
            for k in (
                "history.col_location",
                "history.col_code",
                "history.col_state",
                "history.col_successor",
                "history.col_last_seen",
            )
        ]
        out.append(_table(headers, rows))
    else:
        out.append(f"<p>{tr('history.ended_none')}</p>")
    out.append("</section></body></html>\n")
    return "".join(out)


def _verdict_sentence(
    state, track: Track, view: CatalogView, center: CenterSettings, lang: str
) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """The link verdict as an escaped sentence for staff (the live check's, for a dead link),
    and the technical details for the IT officer (what the code holds, version tags, the link
    to use) as a folded <details>."""
    if state.status == "dead":
        last = track.latest
        verdict = Verdict("dead", state.procedure, last.detail_key, last.detail_params)
    else:
        verdict = judge(state.text, view, center)
    params = verdict.detail_params
    facts = [
        ("web_todo.tech_text", state.text),
        ("web_todo.tech_tag", params.get("tag")),
        ("web_todo.tech_current", params.get("current")),
        ("web_todo.tech_link", params.get("link")),
    ]
    rows = "".join(
        f"<dt>{escape(t(key, lang))}</dt><dd>{_links(escape(str(value)))}</dd>"
        for key, value in facts
        if value
    )
    technical = ""
    if rows:
        summary = escape(t("web_todo.technical", lang))
        technical = f'<details class="tech"><summary>{summary}</summary><dl>{rows}</dl></details>'
    return _links(escape(staff_sentence(verdict, lang))), technical


def staff_sentence(verdict: Verdict, lang: str) -> str:
    """The verdict's sentence without what only the IT officer reads (version tags, a link in
    full): the staff wording of its message when there is one, `describe` otherwise."""
    from dataclasses import replace

    staff = STAFF_KEYS.get(verdict.detail_key)
    if staff is not None:
        return describe(replace(verdict, detail_key=staff), lang)
    return describe(verdict, lang)


#: verdict messages that quote version tags or a link in full → their wording for staff
STAFF_KEYS = {
    "verdict.legacy": "web_todo.staff_verdict_legacy",
    "verdict.outdated": "web_todo.staff_verdict_outdated",
    "links.outdated": "web_todo.staff_links_outdated",
    "links.outdated_decision": "web_todo.staff_links_outdated_decision",
    "links.outdated_date": "web_todo.staff_links_outdated_date",
    "links.outdated_decision_date": "web_todo.staff_links_outdated_decision_date",
    "links.outdated_fields": "web_todo.staff_links_outdated_fields",
    "links.outdated_fields_decision": "web_todo.staff_links_outdated_fields_decision",
    "links.outdated_fields_date": "web_todo.staff_links_outdated_fields_date",
    "links.outdated_fields_decision_date": "web_todo.staff_links_outdated_fields_decision_date",
    "links.current_other_form": "web_todo.staff_links_current_other_form",
}


_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"]+")


def _links(html: str) -> str:
    """Escaped text with each address in it marked as a link (the only text allowed to break
    anywhere: it has no spaces)."""
    return _URL.sub(lambda m: f'<span class="link">{m[0]}</span>', html)
