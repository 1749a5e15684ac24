"""The project page's usage chart: an SVG rendered on the server, and the totals it stands for.

The SVG is built with the standard library's ``xml.etree.ElementTree``, which escapes every text and
attribute, so a label can never break out of the markup. It uses presentation attributes only (no
``style`` attribute or element, no script): the dashboard's CSP (``default-src 'self'``) blocks inline
styles, and the chart must read the same without JavaScript, CSS or colour. Each series differs by
its dash pattern and its point marker as well as its colour; ``<title>``/``<desc>`` name and
describe it for assistive technology, and the page shows the same numbers as a table.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from markupsafe import Markup

from ..store import UsageDay

SeriesName = Literal["created", "approved", "failed", "rate_limited"]
Marker = Literal["circle", "square", "triangle", "diamond"]

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
DEFAULT_DAYS = 30

# The drawing, in viewBox units; the SVG scales to its container's width. 340 wide so that on a
# 390 px phone (about 320 px for the chart) 12-unit text is still about 11 px.
WIDTH, HEIGHT = 340, 256
LEFT, RIGHT, TOP = 44, 22, 14  # RIGHT holds half of the newest day's label
PLOT_BOTTOM = 180
FONT_SIZE = "12"
Y_TICKS = 4


@dataclass(frozen=True)
class Series:
    """How one counter is drawn: a label, a colour, and what tells it apart without colour."""

    name: SeriesName
    label: str
    colour: str
    dash: str | None
    """``stroke-dasharray``; None for a solid line."""
    marker: Marker


SERIES: tuple[Series, ...] = (
    Series("created", "Created", "#2f5bd3", None, "circle"),
    Series("approved", "Approved", "#067647", "6 3", "square"),
    Series("failed", "Failed", "#b42318", "2 3", "triangle"),
    Series("rate_limited", "Rate limited", "#8a5300", "8 4 2 4", "diamond"),
)
LIMIT_COLOUR = "#5b6475"
LIMIT_DASH = "4 4"


@dataclass(frozen=True)
class UsageSummary:
    """Totals of each counter over a run of days, and the approval rate (approved ÷ created;
    None when nothing was created)."""

    created: int
    approved: int
    failed: int
    rate_limited: int
    approval_rate: float | None

    @property
    def approval_rate_text(self) -> str:
        """The approval rate as a percentage with one decimal ("83.3%"), or "—" when undefined."""
        return "—" if self.approval_rate is None else f"{self.approval_rate * 100:.1f}%"


def usage_summary(days: Sequence[UsageDay]) -> UsageSummary:
    """The totals of ``days`` (as ``TokenService.usage`` returns them) and the approval rate."""
    created = sum(d.created for d in days)
    approved = sum(d.approved for d in days)
    return UsageSummary(
        created=created,
        approved=approved,
        failed=sum(d.failed for d in days),
        rate_limited=sum(d.rate_limited for d in days),
        approval_rate=approved / created if created else None,
    )


def zero_filled(days: Sequence[UsageDay], end: dt.date, length: int = DEFAULT_DAYS) -> list[UsageDay]:
    """One record per UTC day from ``end - length + 1`` to ``end``, oldest first: the store keeps rows
    only for days with activity, so the missing ones become zeros (records outside the run are left out)."""
    if length < 1:
        raise ValueError("length must be at least 1")
    project_id = days[0].project_id if days else ""
    by_day = {d.day: d for d in days}
    first = end - dt.timedelta(days=length - 1)
    run = (first + dt.timedelta(days=i) for i in range(length))
    return [by_day.get(day) or UsageDay(project_id, day) for day in run]


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _short_date(day: dt.date) -> str:
    # Not strftime("%b"): that follows the process's locale.
    return f"{_MONTHS[day.month - 1]} {day.day:02d}"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _y_step(highest: float) -> int:
    """The gridline step: the smallest 1, 2 or 5 times 10^k (at least 1) with ``Y_TICKS`` steps reaching ``highest``."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if step * Y_TICKS >= highest:
                return step
        magnitude *= 10


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    # Keyword arguments cannot hold "-": stroke_width → stroke-width.
    element = ET.SubElement(parent, tag, {k.rstrip("_").replace("_", "-"): v for k, v in attributes.items()})
    if text is not None:
        element.text = text
    return element


def _polygon(parent: ET.Element, corners: Sequence[tuple[float, float]]) -> ET.Element:
    return _sub(parent, "polygon", points=" ".join(f"{x:.1f},{y:.1f}" for x, y in corners))


def _marker(parent: ET.Element, shape: Marker, x: float, y: float, size: float = 3.2) -> ET.Element:
    if shape == "circle":
        return _sub(parent, "circle", cx=f"{x:.1f}", cy=f"{y:.1f}", r=f"{size:.1f}")
    if shape == "square":
        return _polygon(
            parent, [(x - size, y - size), (x + size, y - size), (x + size, y + size), (x - size, y + size)]
        )
    if shape == "triangle":
        top, side = size + 0.6, size + 0.4
        return _polygon(parent, [(x, y - top), (x + side, y + size), (x - side, y + size)])
    tip = size + 0.8
    return _polygon(parent, [(x, y - tip), (x + tip, y), (x, y + tip), (x - tip, y)])


def _describe(days: Sequence[UsageDay], summary: UsageSummary, daily_limit: float | None, limit_label: str) -> str:
    first, last = days[0].day.isoformat(), days[-1].day.isoformat()
    text = (
        f"{len(days)} days from {first} to {last} (UTC): {summary.created} created, {summary.approved} approved, "
        f"{summary.failed} failed, {summary.rate_limited} rate limited; approval rate {summary.approval_rate_text}."
    )
    busiest = max(days, key=lambda d: d.created)
    if busiest.created:
        text += f" Most created in a day: {busiest.created} on {busiest.day.isoformat()}."
    if daily_limit is not None:
        text += f" {limit_label}: {_number(daily_limit)} per day."
    return text


def usage_chart(
    days: Sequence[UsageDay],
    *,
    end: dt.date,
    length: int = DEFAULT_DAYS,
    daily_limit: float | None = None,
    limit_label: str = "Daily limit",
    title: str | None = None,
    id_prefix: str = "usage-chart",
) -> Markup:
    """An SVG line chart of the ``length`` UTC days up to ``end``: one line per counter (created,
    approved, failed, rate limited), zero-filled, each with its own dash pattern and point marker, a
    text legend, axis labels, and a dashed horizontal line at ``daily_limit`` labelled ``limit_label``
    when one is given. ``id_prefix`` keeps the ids of its ``<title>``/``<desc>`` unique on the page."""
    filled = zero_filled(days, end, length)
    summary = usage_summary(filled)
    title = title or f"Tokens per day, last {length} days (UTC)"
    highest = max([float(getattr(d, s.name)) for d in filled for s in SERIES] + [daily_limit or 0.0])
    step = _y_step(highest)
    top_value = step * Y_TICKS
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = PLOT_BOTTOM - TOP

    def x_of(index: int) -> float:
        return LEFT + (plot_width * index / (length - 1) if length > 1 else plot_width / 2)

    def y_of(value: float) -> float:
        return PLOT_BOTTOM - plot_height * value / top_value

    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NAMESPACE,
            "viewBox": f"0 0 {WIDTH} {HEIGHT}",
            "width": "100%",
            "preserveAspectRatio": "xMidYMid meet",
            "role": "img",
            "aria-labelledby": title_id,
            "aria-describedby": desc_id,
            "class": "usage-chart",
            "font-family": "system-ui, sans-serif",
            "font-size": FONT_SIZE,
        },
    )
    _sub(svg, "title", title, id=title_id)
    _sub(svg, "desc", _describe(filled, summary, daily_limit, limit_label), id=desc_id)

    axes = _sub(svg, "g", class_="axes", fill="#1d2330")
    for tick in range(Y_TICKS + 1):
        value = step * tick
        y = f"{y_of(value):.1f}"
        _sub(axes, "line", x1=str(LEFT), x2=str(WIDTH - RIGHT), y1=y, y2=y, stroke="#d9dee7", stroke_width="1")
        _sub(axes, "text", _number(value), x=str(LEFT - 5), y=y, text_anchor="end", dominant_baseline="middle")
    _sub(axes, "line", x1=str(LEFT), x2=str(LEFT), y1=str(TOP), y2=str(PLOT_BOTTOM), stroke="#1d2330")
    _sub(axes, "line", x1=str(LEFT), x2=str(WIDTH - RIGHT), y1=str(PLOT_BOTTOM), y2=str(PLOT_BOTTOM), stroke="#1d2330")
    # A date every 7 days, counted back from the last so that the newest day is always labelled.
    for index in range(length - 1, -1, -7):
        x = f"{x_of(index):.1f}"
        _sub(axes, "line", x1=x, x2=x, y1=str(PLOT_BOTTOM), y2=str(PLOT_BOTTOM + 4), stroke="#1d2330")
        _sub(axes, "text", _short_date(filled[index].day), x=x, y=str(PLOT_BOTTOM + 15), text_anchor="middle")
    _sub(axes, "text", "Day (UTC)", x=str(LEFT + plot_width / 2), y=str(PLOT_BOTTOM + 31), text_anchor="middle")
    _sub(
        axes,
        "text",
        "Tokens",
        x="10",
        y=str(TOP + plot_height / 2),
        text_anchor="middle",
        transform=f"rotate(-90 10 {TOP + plot_height / 2:.1f})",
    )

    if daily_limit is not None:
        limit = _sub(svg, "g", class_="limit")
        y = f"{y_of(daily_limit):.1f}"
        line = _sub(limit, "line", x1=str(LEFT), x2=str(WIDTH - RIGHT), y1=y, y2=y, stroke=LIMIT_COLOUR)
        line.set("stroke-dasharray", LIMIT_DASH)
        line.set("stroke-width", "1.5")
        label = f"{limit_label}: {_number(daily_limit)}"
        label_y = f"{y_of(daily_limit) - 4:.1f}"
        _sub(limit, "text", label, x=str(WIDTH - RIGHT), y=label_y, text_anchor="end", fill="#1d2330")

    for series in SERIES:
        group = _sub(svg, "g", class_=f"series series-{series.name}", stroke=series.colour, fill=series.colour)
        values = [getattr(d, series.name) for d in filled]
        points = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in enumerate(values))
        line = _sub(group, "polyline", points=points, fill="none", stroke_width="1.8", stroke_linejoin="round")
        if series.dash is not None:
            line.set("stroke-dasharray", series.dash)
        for index, (day, value) in enumerate(zip(filled, values, strict=True)):
            marker = _marker(group, series.marker, x_of(index), y_of(value))
            marker.set("class", "point")
            _sub(marker, "title", f"{day.day.isoformat()}: {value} {series.label.lower()}")

    # The legend: two columns of a line sample, its marker and the series' name.
    legend = _sub(svg, "g", class_="legend", fill="#1d2330")
    for index, series in enumerate(SERIES):
        column = LEFT + (index % 2) * (plot_width / 2)
        row = PLOT_BOTTOM + 48 + (index // 2) * 18
        sample = _sub(legend, "g", stroke=series.colour, fill=series.colour)
        line = _sub(
            sample, "line", x1=f"{column:.1f}", x2=f"{column + 26:.1f}", y1=str(row), y2=str(row), stroke_width="1.8"
        )
        if series.dash is not None:
            line.set("stroke-dasharray", series.dash)
        _marker(sample, series.marker, column + 13, row)
        _sub(legend, "text", series.label, x=f"{column + 32:.1f}", y=str(row), dominant_baseline="middle")
    return Markup(ET.tostring(svg, encoding="unicode"))  # noqa: S704 - ElementTree escaped every text and attribute
