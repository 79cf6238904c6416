"""Charts for the reports as inline SVG (matplotlib, no display, no files), so an HTML report opens from disk alone.

Money arrives in pence and is drawn in pounds: the conversion happens here, at the rendering edge.
"""

from __future__ import annotations

import io
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

AGE_BUCKETS: tuple[str, ...] = ("0–7 days", "8–30 days", "31+ days")
BUCKET_COLOURS: tuple[str, ...] = ("#9ecae1", "#3182bd", "#08306b")
BAR_COLOUR = "#2b8a3e"
plt.rcParams.update({"font.size": 11, "svg.fonttype": "none", "font.family": "DejaVu Sans"})


def age_bucket(age_days: int) -> str:
    return AGE_BUCKETS[0] if age_days <= 7 else AGE_BUCKETS[1] if age_days <= 30 else AGE_BUCKETS[2]


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML prolog and doctype: the SVG sits inside HTML
    # Make it scale with the page instead of a fixed point size.
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 style="max-width:100%;height:auto"', svg, count=1)


def spending_chart(categories: list[tuple[str, int]], title: str) -> str:
    """Horizontal bars of spending by category (pence in, pounds drawn)."""
    fig, ax = plt.subplots(figsize=(6.5, max(2.2, 0.45 * len(categories) + 1.2)))
    if not categories:
        ax.text(0.5, 0.5, "No spending in this period", ha="center", va="center")
        ax.set_axis_off()
    else:
        names = [c.replace("_", " ") for c, _ in categories][::-1]
        pounds = [p / 100 for _, p in categories][::-1]
        bars = ax.barh(names, pounds, color=BAR_COLOUR)
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"£{v / 1000:,.0f}k" if max(pounds) >= 5000 else f"£{v:,.0f}"))
        for bar, v in zip(bars, pounds, strict=True):
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" £{v:,.2f}", va="center", fontsize=10)
        ax.spines[["top", "right"]].set_visible(False)
        ax.margins(x=0.18)
    ax.set_title(title, loc="left", fontsize=13)
    return _svg(fig)


def exceptions_chart(counts: dict[str, dict[str, int]], title: str) -> str:
    """Stacked horizontal bars: open exceptions by type, split by age bucket."""
    types = sorted(counts, key=lambda t: -sum(counts[t].values()))
    fig, ax = plt.subplots(figsize=(5.0, max(2.2, 0.45 * len(types) + 1.2)))
    if not types:
        ax.text(0.5, 0.5, "No open exceptions", ha="center", va="center")
        ax.set_axis_off()
    else:
        labels = types[::-1]
        left = [0] * len(labels)
        for bucket, colour in zip(AGE_BUCKETS, BUCKET_COLOURS, strict=True):
            values = [counts[t].get(bucket, 0) for t in labels]
            ax.barh(labels, values, left=left, color=colour, label=bucket)
            left = [a + b for a, b in zip(left, values, strict=True)]
        for i, total in enumerate(left):
            ax.text(total, i, f" {total}", va="center", fontsize=10)
        ax.tick_params(axis="y", labelsize=12)
        ax.legend(title="Open for", loc="lower right", fontsize=10, title_fontsize=10, frameon=False)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.spines[["top", "right"]].set_visible(False)
        ax.margins(x=0.12)
    ax.set_title(title, loc="left", fontsize=13)
    return _svg(fig)
