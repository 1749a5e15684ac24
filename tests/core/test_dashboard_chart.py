"""The usage chart (``octotp_core.dashboard.chart``): pure functions, checked by parsing their SVG."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from octotp_core.dashboard.chart import SERIES, usage_chart, usage_summary, zero_filled
from octotp_core.dashboard.rendering import environment
from octotp_core.store import UsageDay

END = dt.date(2026, 2, 14)
NS = {"svg": "http://www.w3.org/2000/svg"}
PROJECT = "5d0c1f0e-8a4e-4f43-9a57-1c2b3d4e5f60"


def day(days_ago: int, created: int = 0, approved: int = 0, failed: int = 0, rate_limited: int = 0) -> UsageDay:
    return UsageDay(PROJECT, END - dt.timedelta(days=days_ago), created, approved, failed, rate_limited)


def parse(chart: str) -> ET.Element:
    return ET.fromstring(chart)  # noqa: S314 - the SVG this process just made


def series_group(svg: ET.Element, name: str) -> ET.Element:
    group = svg.find(f"svg:g[@class='series series-{name}']", NS)
    assert group is not None, name
    return group


def polyline_points(svg: ET.Element, name: str) -> list[tuple[float, float]]:
    line = series_group(svg, name).find("svg:polyline", NS)
    assert line is not None
    return [(float(x), float(y)) for x, y in (p.split(",") for p in line.get("points", "").split())]


def texts(svg: ET.Element) -> list[str]:
    return [t.text or "" for t in svg.iter(f"{{{NS['svg']}}}text")]


def test_zero_filled_has_every_day_oldest_first() -> None:
    filled = zero_filled([day(0, created=3), day(10, approved=2), day(45, created=99)], END)
    assert len(filled) == 30
    assert [d.day for d in filled] == [END - dt.timedelta(days=29 - i) for i in range(30)]
    assert filled[-1].created == 3
    assert filled[19].approved == 2
    assert sum(d.created for d in filled) == 3  # the day 45 days ago is outside the run
    assert {d.project_id for d in filled} == {PROJECT}
    assert zero_filled([], END, 7) == [UsageDay("", END - dt.timedelta(days=6 - i)) for i in range(7)]
    with pytest.raises(ValueError, match="at least 1"):
        zero_filled([], END, 0)


def test_one_point_per_day_for_every_series_zero_days_included() -> None:
    svg = parse(usage_chart([day(0, created=4, approved=3, failed=1), day(5, rate_limited=2)], end=END))
    for series in SERIES:
        group = series_group(svg, series.name)
        points = group.findall("*[@class='point']")
        assert len(points) == 30, series.name
        assert len(polyline_points(svg, series.name)) == 30
        tips = [p.find("svg:title", NS) for p in points]
        assert all(t is not None for t in tips)
    created = polyline_points(svg, "created")
    baseline = created[0][1]
    assert all(y == baseline for _, y in created[:-1])  # 29 empty days drawn at zero ...
    assert created[-1][1] < baseline  # ... and today's 4 above them
    xs = [x for x, _ in created]
    assert xs == sorted(xs)
    assert len(set(xs)) == 30
    approved = polyline_points(svg, "approved")
    assert created[-1][1] < approved[-1][1] < baseline  # 4 is drawn higher than 3
    tip = series_group(svg, "rate_limited").findall("*[@class='point']")[24].find("svg:title", NS)
    assert tip is not None
    assert tip.text == f"{(END - dt.timedelta(days=5)).isoformat()}: 2 rate limited"


def test_accessible_name_description_and_no_inline_style_or_script() -> None:
    chart = usage_chart([day(1, created=12, approved=9)], end=END)
    assert isinstance(chart, Markup)
    svg = parse(chart)
    assert svg.get("role") == "img"
    assert svg.get("viewBox") == "0 0 340 256"
    assert svg.get("width") == "100%"
    assert svg.get("height") is None  # the height follows the width
    title, desc = svg.find("svg:title", NS), svg.find("svg:desc", NS)
    assert title is not None
    assert desc is not None
    assert svg.get("aria-labelledby") == title.get("id") == "usage-chart-title"
    assert svg.get("aria-describedby") == desc.get("id") == "usage-chart-desc"
    assert title.text == "Tokens per day, last 30 days (UTC)"
    assert desc.text is not None
    assert "12 created, 9 approved, 0 failed, 0 rate limited; approval rate 75.0%" in desc.text
    assert "2026-01-16 to 2026-02-14" in desc.text
    assert f"Most created in a day: 12 on {(END - dt.timedelta(days=1)).isoformat()}" in desc.text
    # The dashboard's CSP blocks inline styles and scripts: presentation attributes only.
    for element in svg.iter():
        assert element.get("style") is None, element.tag
        assert element.tag.rpartition("}")[2] not in ("style", "script", "foreignObject")
    other = parse(usage_chart([], end=END, id_prefix="other"))
    assert other.get("aria-labelledby") == "other-title"


def test_series_differ_without_colour_and_the_legend_names_them() -> None:
    assert len({(s.dash, s.marker) for s in SERIES}) == len(SERIES)
    assert len({s.marker for s in SERIES}) == len(SERIES)
    assert len({s.dash for s in SERIES}) == len(SERIES)
    svg = parse(usage_chart([], end=END))
    for series in SERIES:
        line = series_group(svg, series.name).find("svg:polyline", NS)
        assert line is not None
        assert line.get("stroke-dasharray") == series.dash
    legend = svg.find("svg:g[@class='legend']", NS)
    assert legend is not None
    assert [t.text for t in legend.findall("svg:text", NS)] == ["Created", "Approved", "Failed", "Rate limited"]
    assert len(legend.findall("svg:g/svg:line", NS)) == len(SERIES)  # a line sample each ...
    assert len(legend.findall("svg:g/*", NS)) == 2 * len(SERIES)  # ... with its marker
    labels = texts(svg)
    assert "Day (UTC)" in labels
    assert "Tokens" in labels
    assert "Feb 14" in labels  # the newest day is labelled, then every 7 days back
    assert "Feb 07" in labels
    assert "Jan 17" in labels


def test_y_axis_reaches_the_highest_value_with_whole_number_ticks() -> None:
    svg = parse(usage_chart([day(0, created=37)], end=END))
    axes = svg.find("svg:g[@class='axes']", NS)
    assert axes is not None
    ticks = [t.text for t in axes.findall("svg:text[@text-anchor='end']", NS) if (t.text or "").isdigit()]
    assert ticks == ["0", "10", "20", "30", "40"]
    empty = parse(usage_chart([], end=END))
    axes = empty.find("svg:g[@class='axes']", NS)
    assert axes is not None
    assert [t.text for t in axes.findall("svg:text[@text-anchor='end']", NS)][:5] == ["0", "1", "2", "3", "4"]
    big = parse(usage_chart([day(0, created=12_345)], end=END))
    assert "20,000" in texts(big)


def test_limit_line_only_when_given_and_its_label_escaped() -> None:
    without = usage_chart([day(0, created=5)], end=END)
    assert parse(without).find("svg:g[@class='limit']", NS) is None
    desc = parse(without).find("svg:desc", NS)
    assert desc is not None
    assert desc.text is not None
    assert "per day" not in desc.text

    chart = usage_chart([day(0, created=5)], end=END, daily_limit=80, limit_label='Plan <b>"free"</b> & co')
    assert "<b>" not in chart
    assert "&lt;b&gt;" in chart
    assert "&amp; co" in chart
    svg = parse(chart)
    limit = svg.find("svg:g[@class='limit']", NS)
    assert limit is not None
    line, label = limit.find("svg:line", NS), limit.find("svg:text", NS)
    assert line is not None
    assert label is not None
    assert line.get("stroke-dasharray") == "4 4"
    assert label.text == 'Plan <b>"free"</b> & co: 80'
    assert line.get("y1") == line.get("y2")
    assert float(line.get("y1", "0")) < polyline_points(svg, "created")[-1][1]  # 80 is above 5
    desc = svg.find("svg:desc", NS)
    assert desc is not None
    assert desc.text is not None
    assert desc.text.endswith('Plan <b>"free"</b> & co: 80 per day.')
    assert max(int(t) for t in texts(svg) if t.isdigit()) >= 80  # the axis reaches the limit
    fractional = parse(usage_chart([], end=END, daily_limit=2.5, limit_label="Quota"))
    assert "Quota: 2.5" in texts(fractional)


def test_usage_summary_totals_and_approval_rate() -> None:
    summary = usage_summary([day(0, created=8, approved=6, failed=3, rate_limited=1), day(3, created=4, approved=4)])
    assert (summary.created, summary.approved, summary.failed, summary.rate_limited) == (12, 10, 3, 1)
    assert summary.approval_rate == pytest.approx(10 / 12)
    assert summary.approval_rate_text == "83.3%"
    nothing = usage_summary([day(0, failed=2)])
    assert nothing.approval_rate is None
    assert nothing.approval_rate_text == "—"
    assert usage_summary([]).created == 0


def test_one_day_chart_and_markup_is_not_escaped_again_by_jinja() -> None:
    svg = parse(usage_chart([day(0, created=1)], end=END, length=1, title="Today"))
    assert len(series_group(svg, "created").findall("*[@class='point']")) == 1
    chart = usage_chart([], end=END)
    rendered = environment().from_string("<div>{{ chart }}</div>").render(chart=chart)
    assert rendered == f"<div>{chart}</div>"
    assert rendered.startswith('<div><svg xmlns="http://www.w3.org/2000/svg"')
