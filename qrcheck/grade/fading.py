"""When will a fading posting reach grade D? A pure projection from its contrast history.

A least-squares line of symbol contrast against time (days) through the posting's checks; when
it falls, the day it crosses the ISO/IEC 15415 grade D threshold of symbol contrast (0.20).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

#: symbol contrast below which ISO/IEC 15415 grades a symbol F; at it, D
GRADE_D_CONTRAST = 0.20
#: a slope flatter than this (contrast per day) is no fading: nothing is projected
MIN_SLOPE = 1e-6
#: a crossing further than this is no useful date
MAX_DAYS = 365 * 50


def _day(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime(value.year, value.month, value.day)


def project_grade_d(
    points: Sequence[tuple[date | datetime, float]], threshold: float = GRADE_D_CONTRAST
) -> date | None:
    """The day the least-squares line of contrast over time crosses `threshold`.

    None when there are fewer than two checks (at two different times) or the line is flat or
    rising. The day may lie in the past when the posting has already faded below it.
    """
    if len(points) < 2:
        return None
    origin = min(_day(when) for when, _ in points)
    xs = [(_day(when) - origin).total_seconds() / 86400 for when, _ in points]
    ys = [float(value) for _, value in points]
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx <= 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    if slope > -MIN_SLOPE:
        return None
    crossing = mean_x + (threshold - mean_y) / slope
    if crossing > MAX_DAYS:
        return None
    return (origin + timedelta(days=crossing)).date()
