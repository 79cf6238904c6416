"""The audit exception report: per council and run day, an HTML page, an XLSX workbook and CSV files.

Who reads it: finance and audit, without an engineer. So: summary figures first, then what is new,
what is carried forward and what closed, each exception type under a plain heading that says what it
means and what to do (reports.guide). The HTML opens from disk with no server (inline CSS, charts as
inline SVG); the workbook has a sheet per exception type with filters, frozen headers and money as
currency; CSVs are UTF-8 with a BOM so Excel opens them with £ signs intact.

Money is integer pence everywhere until the rendering edge, where it becomes pounds (pence / 100) for
the workbook's number cells and a "£1,234.56" string for the page. Accounts show their last 4
characters only; clients are named by id, never by name.

"As of" the run day: an exception is in the report if it was raised on or before the day and was not
closed before it; "closed this run" means closed on the day. Running the report again for the same day
rewrites the same files.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Connection

from db.engine import get_engine
from ledger.queries import spending_by_category
from reconciliation.balances import last4, pounds
from reconciliation.exceptions import exception_councils, list_exceptions
from reconciliation.funding import funding_totals
from records.reference import council_names
from reports.charts import AGE_BUCKETS, age_bucket, exceptions_chart, spending_chart
from reports.guide import GUIDE, SECTION_TITLES, guide_for
from schemas.money import pounds_plain

TEMPLATES = Path(__file__).parent / "templates"
SPENDING_PERIOD_DAYS = 28  # the spending chart covers the four weeks ending on the run day
SECTIONS: tuple[str, ...] = ("new", "carried", "closed")
ALL_COUNCILS = "(all councils)"

# Columns of every exception table (HTML, XLSX, CSV), in order: (key, heading, kind).
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("section", "Section", "text"),
    ("exception_id", "Id", "int"),
    ("status", "Status", "text"),
    ("exception_type", "Type", "text"),
    ("client_id", "Client", "text"),
    ("provider", "Provider", "text"),
    ("card", "Card (last 4)", "text"),
    ("london_date", "Day", "date"),
    ("first_seen", "First seen", "date"),
    ("age_days", "Age (days)", "int"),
    ("amount_pence", "Amount", "money"),
    ("difference_pence", "Difference", "money"),
    ("cause", "Likely cause", "text"),
    ("evidence", "Provider items", "text"),
    ("explanation", "What was found", "text"),
    ("note", "Note", "text"),
    ("resolved_on", "Closed on", "date"),
    ("resolution", "How closed", "text"),
)


@dataclass
class ReportData:
    council: str
    day: dt.date
    exceptions: pl.DataFrame  # list_exceptions columns + section, age_days, card
    funding_day: dict
    funding_mtd: pl.DataFrame
    spending: list[tuple[str, int]]  # (category, pence), largest first
    figures: dict = field(default_factory=dict)


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_") or "council"


# --- pure: which section, how old, what the summary says ------------------------------------------
def assign_sections(exc: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """Keep exceptions alive on ``day`` (raised on or before it, not closed before it) and label each
    new / carried / closed with its age in days. Pure."""
    alive = exc.filter(
        (pl.col("first_seen") <= day) & (pl.col("resolved_on").is_null() | (pl.col("resolved_on") >= day))
    )
    closed_today = pl.col("resolved_on") == day
    return alive.with_columns(
        pl.when(closed_today).then(pl.lit("closed")).when(pl.col("first_seen") == day).then(pl.lit("new"))
        .otherwise(pl.lit("carried")).alias("section"),
        (pl.when(closed_today).then(pl.col("resolved_on")).otherwise(pl.lit(day)) - pl.col("first_seen"))
        .dt.total_days().cast(pl.Int64).alias("age_days"),
        pl.col("account_id").map_elements(last4, return_dtype=pl.Utf8).alias("card"),
        pl.when(pl.col("resolved_on") == day).then(pl.lit("resolved")).when(pl.col("status") == "resolved")
        .then(pl.lit("open")).otherwise(pl.col("status")).alias("status"),
    ).sort("section", "exception_type", "london_date", "exception_id")


def summary_figures(exc: pl.DataFrame, funding_day: dict, funding_mtd: pl.DataFrame) -> dict:
    """The headline numbers at the top of the report. Pure."""
    open_ = exc.filter(pl.col("section") != "closed")
    bal = open_.filter(pl.col("exception_type") == "balance_mismatch")
    return {
        "new": int((exc["section"] == "new").sum()),
        "carried": int((exc["section"] == "carried").sum()),
        "closed": int((exc["section"] == "closed").sum()),
        "open": open_.height,
        "explained": int((open_["status"] == "explained").sum()),
        "for_audit": int((open_["raised_for"] == "audit").sum()),
        "balance_cards": bal.select("provider", "account_id").unique().height,
        "balance_abs_pence": int(bal["difference_pence"].abs().sum()) if bal.height else 0,
        "oldest_days": int(open_["age_days"].max()) if open_.height else 0,
        "loaded_pence": int(funding_day.get("loaded_pence", 0)),
        "returned_pence": int(funding_day.get("returned_pence", 0)),
        "unloaded_pence": int(funding_day.get("unloaded_pence", 0)),
        "net_pence": int(funding_day.get("net_from_council_pence", 0)),
        "loaded_mtd_pence": int(funding_mtd["loaded_pence"].sum()) if funding_mtd.height else 0,
        "unloaded_mtd_pence": int(funding_mtd["unloaded_pence"].sum()) if funding_mtd.height else 0,
        "returned_mtd_pence": int(funding_mtd["returned_pence"].sum()) if funding_mtd.height else 0,
        "net_mtd_pence": int(funding_mtd["net_from_council_pence"].sum()) if funding_mtd.height else 0,
    }


def age_counts(exc: pl.DataFrame) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for r in exc.filter(pl.col("section") != "closed").iter_rows(named=True):
        title = guide_for(r["exception_type"]).title
        bucket = age_bucket(int(r["age_days"]))
        out.setdefault(title, {b: 0 for b in AGE_BUCKETS})[bucket] += 1
    return out


# --- reads --------------------------------------------------------------------------------------
def _councils(conn: Connection) -> list[str]:
    """The councils in the stored extract; before the first, those named by an exception."""
    return sorted(council_names(conn) or exception_councils(conn))


def gather(conn: Connection, day: dt.date, council: str) -> ReportData:
    """Everything one council's report shows. Exceptions with no council (a provider's missing file, an
    unknown card) affect every council and appear in each council's report."""
    exc = list_exceptions(conn)
    exc = exc.filter((pl.col("council") == council) | pl.col("council").is_null())
    exc = assign_sections(exc, day)
    month_start = day.replace(day=1)
    mtd = funding_totals(conn, month_start, day, [council]).filter(pl.col("council") == council)
    today = mtd.filter(pl.col("london_date") == day)
    funding_day = today.to_dicts()[0] if today.height else {}
    spending = spending_by_category(conn, council, day - dt.timedelta(days=SPENDING_PERIOD_DAYS - 1), day)
    data = ReportData(council, day, exc, funding_day, mtd, spending)
    data.figures = summary_figures(exc, funding_day, mtd)
    return data


# --- rendering ------------------------------------------------------------------------------------
def _cell_text(key: str, kind: str, value) -> str:
    if value is None:
        return ""
    if kind == "money":
        return pounds(int(value))
    if kind == "date":
        return value.strftime("%d/%m/%Y")
    if key == "section":
        return SECTION_TITLES[value][0]
    if key == "cause":
        return str(value).replace("_", " ")
    return str(value)


def render_html(data: ReportData, path: Path) -> Path:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    env.filters["pounds"] = pounds
    exc = data.exceptions
    sections = []
    for s in SECTIONS:
        part = exc.filter(pl.col("section") == s)
        groups = []
        for etype in sorted(part["exception_type"].unique().to_list(), key=lambda t: (list(GUIDE).index(t) if t in GUIDE else 99, t)):
            rows = part.filter(pl.col("exception_type") == etype).sort("london_date", "exception_id")
            by_card = []
            if etype == "balance_mismatch":
                # A difference repeats every day until fixed: one line per card first, the daily rows after.
                for (prov, acct), card_rows in rows.group_by(["provider", "account_id"], maintain_order=True):
                    last = card_rows.sort("london_date").row(-1, named=True)
                    by_card.append(
                        {
                            "card": last4(acct), "provider": prov, "client_id": last["client_id"] or "(not in register)",
                            "days": card_rows.height, "first": card_rows["london_date"].min().strftime("%d/%m/%Y"),
                            "last": last["london_date"].strftime("%d/%m/%Y"), "difference": pounds(last["difference_pence"]),
                            "cause": (last["cause"] or "not found").replace("_", " "), "evidence": last["evidence"] or "",
                        }
                    )
            groups.append(
                {
                    "type": etype,
                    "by_card": by_card,
                    "guide": guide_for(etype),
                    "count": rows.height,
                    "total_difference": int(rows["difference_pence"].drop_nulls().sum()) if rows.height else 0,
                    "has_difference": rows["difference_pence"].drop_nulls().len() > 0,
                    "rows": [
                        {k: _cell_text(k, kind, r[k]) for k, _, kind in COLUMNS} | {"council": r["council"]}
                        for r in rows.iter_rows(named=True)
                    ],
                }
            )
        sections.append({"key": s, "title": SECTION_TITLES[s][0], "intro": SECTION_TITLES[s][1], "count": part.height, "groups": groups})
    html = env.get_template("exception_report.html.j2").render(
        council=data.council,
        day=data.day,
        figures=data.figures,
        sections=sections,
        funding=data.funding_mtd.to_dicts(),
        spending_svg=spending_chart(
            data.spending, f"Spending by category, {(data.day - dt.timedelta(days=SPENDING_PERIOD_DAYS - 1)):%d %b} to {data.day:%d %b %Y}"
        ),
        exceptions_svg=exceptions_chart(age_counts(exc), "Open exceptions by type and age"),
        spending_total=sum(p for _, p in data.spending),
        guide=GUIDE,
        generated=dt.datetime.now(dt.UTC).strftime("%d/%m/%Y %H:%M UTC"),
        columns=[(k, h) for k, h, _ in COLUMNS if k not in ("section", "exception_type", "resolved_on", "resolution")],
        closed_columns=[(k, h) for k, h, _ in COLUMNS if k not in ("section", "exception_type")],
    )
    path.write_text(html, encoding="utf-8")
    return path


def _sheet_name(title: str, used: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", " ", title)[:31].strip()
    base, i = name, 2
    while name in used:
        name = f"{base[:28]} {i}"
        i += 1
    used.add(name)
    return name


@dataclass(frozen=True)
class _Formats:
    bold: Any
    head: Any
    money: Any
    date: Any
    wrap: Any
    title: Any


def _summary_sheet(wb: xlsxwriter.Workbook, fmt: _Formats, data: ReportData, used: set[str]) -> None:
    ws = wb.add_worksheet(_sheet_name("Summary", used))
    ws.write(0, 0, f"Exception report — {data.council} — run of {data.day:%d/%m/%Y}", fmt.title)
    f = data.figures
    lines = [
        ("New this run", f["new"], None), ("Carried forward", f["carried"], None), ("Closed this run", f["closed"], None),
        ("Open now", f["open"], None), ("of which explained (cause found)", f["explained"], None),
        ("of which for audit", f["for_audit"], None), ("Cards with a balance difference", f["balance_cards"], None),
        ("Balance differences (sum of sizes)", None, f["balance_abs_pence"]), ("Oldest open (days)", f["oldest_days"], None),
        ("Loaded onto cards today", None, f["loaded_pence"]), ("Loads returned today", None, f["returned_pence"]),
        ("Unloaded from cards today", None, f["unloaded_pence"]), ("Net from council today", None, f["net_pence"]),
        ("Loaded, month to date", None, f["loaded_mtd_pence"]), ("Unloaded, month to date", None, f["unloaded_mtd_pence"]),
        ("Net from council, month to date", None, f["net_mtd_pence"]),
    ]
    ws.write_row(2, 0, ["Figure", "Value"], fmt.head)
    for i, (label, count, pence) in enumerate(lines, start=3):
        ws.write(i, 0, label)
        if pence is not None:
            ws.write_number(i, 1, pence / 100, fmt.money)
        else:
            ws.write_number(i, 1, count)
    r = len(lines) + 4
    ws.write(r, 0, "Exception types: what they mean and what to do", fmt.bold)
    ws.write_row(r + 1, 0, ["Type", "Heading", "What it means", "What to do", "Who"], fmt.head)
    for i, (etype, g) in enumerate(GUIDE.items(), start=r + 2):
        ws.write_row(i, 0, [etype, g.title, g.meaning, g.action, g.who], fmt.wrap)
    ws.set_column(0, 0, 36)
    ws.set_column(1, 1, 30)
    ws.set_column(2, 3, 70)
    ws.freeze_panes(3, 0)


def _funding_sheet(wb: xlsxwriter.Workbook, fmt: _Formats, data: ReportData, used: set[str]) -> None:
    ws = wb.add_worksheet(_sheet_name("Funding", used))
    cols = ["Day", "Loads", "Loaded", "Returned", "Unloads", "Unloaded", "Net from council"]
    ws.write_row(0, 0, cols, fmt.head)
    for i, row in enumerate(data.funding_mtd.iter_rows(named=True), start=1):
        ws.write_datetime(i, 0, dt.datetime.combine(row["london_date"], dt.time()), fmt.date)
        ws.write_number(i, 1, row["loads"])
        ws.write_number(i, 2, row["loaded_pence"] / 100, fmt.money)
        ws.write_number(i, 3, row["returned_pence"] / 100, fmt.money)
        ws.write_number(i, 4, row["unloads"])
        ws.write_number(i, 5, row["unloaded_pence"] / 100, fmt.money)
        ws.write_number(i, 6, row["net_from_council_pence"] / 100, fmt.money)
    ws.autofilter(0, 0, max(data.funding_mtd.height, 1), len(cols) - 1)
    ws.freeze_panes(1, 0)
    ws.set_column(0, len(cols) - 1, 16)


def _exception_sheet(wb: xlsxwriter.Workbook, fmt: _Formats, etype: str, rows: pl.DataFrame, used: set[str]) -> None:
    ws = wb.add_worksheet(_sheet_name(guide_for(etype).sheet or etype, used))
    ws.write_row(0, 0, [h for _, h, _ in COLUMNS], fmt.head)
    for i, row in enumerate(rows.iter_rows(named=True), start=1):
        for j, (k, _, kind) in enumerate(COLUMNS):
            v = row[k]
            if v is None:
                ws.write_blank(i, j, None)
            elif kind == "money":
                ws.write_number(i, j, int(v) / 100, fmt.money)  # pounds only here, at the rendering edge
            elif kind == "date":
                ws.write_datetime(i, j, dt.datetime.combine(v, dt.time()), fmt.date)
            elif kind == "int":
                ws.write_number(i, j, int(v))
            elif k == "section":
                ws.write_string(i, j, SECTION_TITLES[v][0])
            else:
                ws.write_string(i, j, str(v))
    ws.autofilter(0, 0, max(rows.height, 1), len(COLUMNS) - 1)
    ws.freeze_panes(1, 0)
    widths = {"explanation": 90, "note": 30, "evidence": 20, "cause": 20, "exception_type": 18, "section": 16}
    for j, (k, _, _) in enumerate(COLUMNS):
        ws.set_column(j, j, widths.get(k, 12), fmt.wrap if k == "explanation" else None)


def render_xlsx(data: ReportData, path: Path) -> Path:
    """Summary, Funding, then a sheet per exception type: autofilter, frozen header, money as £ currency."""
    wb = xlsxwriter.Workbook(str(path))
    fmt = _Formats(
        bold=wb.add_format({"bold": True}),
        head=wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"}),
        money=wb.add_format({"num_format": "£#,##0.00"}),
        date=wb.add_format({"num_format": "dd/mm/yyyy"}),
        wrap=wb.add_format({"text_wrap": True, "valign": "top"}),
        title=wb.add_format({"bold": True, "font_size": 14}),
    )
    used: set[str] = set()
    _summary_sheet(wb, fmt, data, used)
    _funding_sheet(wb, fmt, data, used)
    exc = data.exceptions
    for etype in sorted(exc["exception_type"].unique().to_list()):
        _exception_sheet(wb, fmt, etype, exc.filter(pl.col("exception_type") == etype).sort("section", "london_date", "exception_id"), used)
    wb.close()
    return path


def write_csvs(data: ReportData, folder: Path) -> Path:
    """Excel-friendly CSVs (UTF-8 with BOM): one per exception type, plus summary and funding. Money in pounds."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.csv"):
        old.unlink()  # the folder holds exactly this run's files

    money = pounds_plain

    with (folder / "summary.csv").open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow(["figure", "value"])
        for k, v in data.figures.items():
            w.writerow([k.removesuffix("_pence") + ("_gbp" if k.endswith("_pence") else ""), money(v) if k.endswith("_pence") else v])
    with (folder / "funding.csv").open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow(["council", "date", "loads", "loaded_gbp", "returned_gbp", "unloads", "unloaded_gbp", "net_from_council_gbp"])
        for r in data.funding_mtd.iter_rows(named=True):
            w.writerow([r["council"], r["london_date"].isoformat(), r["loads"], money(r["loaded_pence"]), money(r["returned_pence"]),
                        r["unloads"], money(r["unloaded_pence"]), money(r["net_from_council_pence"])])
    exc = data.exceptions
    for etype in sorted(exc["exception_type"].unique().to_list()):
        rows = exc.filter(pl.col("exception_type") == etype).sort("section", "london_date", "exception_id")
        with (folder / f"exceptions_{etype}.csv").open("w", newline="", encoding="utf-8-sig") as fh:
            w = csv.writer(fh)
            w.writerow([k.replace("_pence", "_gbp") for k, _, _ in COLUMNS])
            for r in rows.iter_rows(named=True):
                out = []
                for k, _, kind in COLUMNS:
                    v = r[k]
                    out.append(money(v) if kind == "money" else v.isoformat() if kind == "date" and v else "" if v is None else v)
                w.writerow(out)
    return folder


def write_exception_report(db_url: str | None, day: dt.date, out_dir: Path) -> dict[str, Path]:
    """Write each council's report for the run of ``day`` under ``out_dir/<council>/``.

    Returns ``{"<council>:html": path, "<council>:xlsx": path, "<council>:csv": folder}``.
    """
    out_dir = Path(out_dir)
    with get_engine(db_url).connect() as conn:
        councils = _councils(conn) or [ALL_COUNCILS]
        datas = [gather(conn, day, c) for c in councils]
    written: dict[str, Path] = {}
    for data in datas:
        folder = out_dir / slug(data.council)
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"exception_report_{slug(data.council)}_{day.isoformat()}"
        written[f"{data.council}:html"] = render_html(data, folder / f"{stem}.html")
        written[f"{data.council}:xlsx"] = render_xlsx(data, folder / f"{stem}.xlsx")
        written[f"{data.council}:csv"] = write_csvs(data, folder / f"{stem}_csv")
    return written
