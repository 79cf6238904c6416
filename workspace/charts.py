"""A small bar chart of money per day as SVG, drawn on the server: no JavaScript, prints as it shows.

Why SVG text and not an image library: it scales on any screen and on paper, a screen reader gets its
title and summary, and the CSP needs no exceptions (presentation attributes only, no inline style).
A pure function: days and pence in, markup out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

from schemas.money import pounds

WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 34
COLOURS = ("#1d70b8", "#00703c")  # GOV.UK blue and green: 4.5:1 or more on white
HIGHLIGHT = "#d4351c"  # days the case's evidence falls on
BAND = "#e8e8e8"  # a period shaded behind the bars (a hospital stay, respite, after a death)


def _nice_max(pence: int) -> int:
    """A round top for the axis (in pence) at or above the largest value."""
    if pence <= 0:
        return 10_000
    step = 1
    while step * 10 <= pence:
        step *= 10
    for m in (1, 2, 5, 10):
        if m * step >= pence:
            return m * step
    return 10 * step


def daily_bars(days: Sequence[dt.date], series: Mapping[str, Sequence[int]], *, title: str,
               highlight: frozenset[dt.date] = frozenset(),
               bands: Sequence[tuple[dt.date, dt.date, str]] = ()) -> Markup:
    """Bars per day for one or two series (e.g. {"Spent": [...], "Money in": [...]}), days with evidence in red,
    and shaded periods behind them (``bands``: first day, last day, label; e.g. a hospital stay)."""
    assert series and len(series) <= len(COLOURS), "one or two series"
    assert all(len(v) == len(days) for v in series.values()), "a value per day in every series"
    top = _nice_max(max((max(v) if v else 0) for v in series.values()))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot / len(series) - 1, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" class="chart"'
        f' aria-labelledby="chart-title chart-desc">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(_summary(days, series))}</desc>',
    ]
    if days:
        for first, last, label in bands:
            i0 = max((first - days[0]).days, 0)
            i1 = min((last - days[0]).days, len(days) - 1)
            if i0 > i1:
                continue
            x0, x1 = LEFT + i0 * slot, LEFT + (i1 + 1) * slot
            parts.append(f'<rect x="{x0:.1f}" y="{TOP}" width="{x1 - x0:.1f}" height="{plot_h}" fill="{BAND}">'
                         f'<title>{escape(label)}</title></rect>')
            parts.append(f'<text x="{x0 + 4:.1f}" y="{TOP + 14}" font-size="12" fill="#0b0c0c">{escape(label)}</text>')
    for frac in (0, 0.5, 1):
        y = TOP + plot_h * (1 - frac)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#b1b4b6" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" fill="#0b0c0c">'
                     f'{escape(pounds(int(top * frac), thousands=True))}</text>')
    for i, day in enumerate(days):
        for j, (label, values) in enumerate(series.items()):
            pence = values[i]
            if pence <= 0:
                continue
            h = plot_h * pence / top
            x = LEFT + i * slot + j * (bar_w + 1)
            colour = HIGHLIGHT if day in highlight and j == 0 else COLOURS[j]
            parts.append(f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour}">'
                         f'<title>{escape(f"{day:%a} {day.day} {day:%b}: {label} {pounds(pence)}")}</title></rect>')
    step = max(len(days) // 6, 1)
    for i in range(0, len(days), step):
        x = LEFT + i * slot + slot / 2
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 12}" text-anchor="middle" font-size="12" fill="#0b0c0c">'
                     f'{days[i].day} {days[i]:%b}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _summary(days: Sequence[dt.date], series: Mapping[str, Sequence[int]]) -> str:
    if not days:
        return "No days to show."
    bits = []
    for label, values in series.items():
        peak = max(range(len(values)), key=lambda i: values[i])
        bits.append(f"{label}: {pounds(sum(values))} in all, most on {days[peak]:%a} {days[peak].day} {days[peak]:%b} "
                    f"({pounds(values[peak])})")
    return f"{days[0].day} {days[0]:%b %Y} to {days[-1].day} {days[-1]:%b %Y}. " + "; ".join(bits) + "."
