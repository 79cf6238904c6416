"""Did every provider's files for each day arrive? Missing files, skipped days and late files.

Why this matters: a day without a provider's transactions file means that day's spending is not in
the ledger, so every balance and every rule for that provider's cards is blind for the day. Finance
must chase the provider. When the file arrives later, the day is reconciled again and the
"missing file" exception closes itself; the late arrival is kept as a ``late_file`` record (raised
already closed) so the report still shows it.

Pure: takes the ``feed_files`` register as a frame (``records.feed_register.load_feed_files``) and returns
``ExceptionItem``s.
"""

from __future__ import annotations

import datetime as dt
import re

import polars as pl

from reconciliation.exceptions import ExceptionItem

FILE_KINDS: tuple[str, ...] = ("transactions", "balances")
FEED_TYPES: tuple[str, ...] = ("missing_file", "late_file")
_DROP_DATE = re.compile(r"(\d{8})")

def drop_date(drop_dir: str | None) -> dt.date | None:
    """The day of the drop folder a file arrived in, from its name (``.../20260304``), if it says.

    Why from the folder name and not the load time: a drop folder is the run's partition, and tests
    or backfills load old folders today; the folder's own date is what "arrived in a later drop" means.
    """
    if not drop_dir:
        return None
    name = drop_dir.rstrip("/").rsplit("/", 1)[-1]
    m = _DROP_DATE.search(name)
    if not m:
        return None
    try:
        return dt.datetime.strptime(m.group(1), "%Y%m%d").date()
    except ValueError:
        return None


def _missing_files(
    in_window: pl.DataFrame, expected_providers: tuple[str, ...], date_from: dt.date, date_to: dt.date
) -> list[ExceptionItem]:
    """``missing_file`` per expected provider and day lacking a loaded transactions or balances file."""
    found: list[ExceptionItem] = []
    loaded = {(p, k, d) for p, k, d in in_window.filter(pl.col("status") == "loaded").select("provider", "file_kind", "feed_date").iter_rows()}
    refused: dict[tuple[str, str, dt.date], str] = {}
    for r in in_window.filter(pl.col("status") == "refused").iter_rows(named=True):
        refused[(r["provider"], r["file_kind"], r["feed_date"])] = f"{r['file_name']} was refused: {r['message'] or 'no reason recorded'}"
    day = date_from
    while day <= date_to:
        for p in expected_providers:
            missing = [k for k in FILE_KINDS if (p, k, day) not in loaded]
            if not missing:
                continue
            notes = [refused[(p, k, day)] for k in missing if (p, k, day) in refused]
            what = " and ".join(f"{k} file" for k in missing)
            found.append(
                ExceptionItem(
                    key=f"missing_file:{p}:{day.isoformat()}",
                    exception_type="missing_file",
                    explanation=(
                        f"Provider {p} has not sent its {what} for {day:%d/%m/%Y}. Until it arrives, that day's "
                        f"items for provider {p}'s cards are not in the ledger and their balances cannot be checked. "
                        f"Ask provider {p} for the file; when it is loaded this exception closes by itself."
                        + (" " + "; ".join(notes) + "." if notes else "")
                    ),
                    raised_for="finance",
                    provider=p,
                    london_date=day,
                    cause="refused" if notes else "not_received",
                )
            )
        day += dt.timedelta(days=1)
    return found


def _late_files(in_window: pl.DataFrame) -> list[ExceptionItem]:
    """``late_file`` per loaded file whose first loaded copy arrived in a later day's drop."""
    found: list[ExceptionItem] = []
    # A file is late when its first loaded copy came in a later day's drop; a resent copy of a file
    # that arrived on time is not late.
    first_copy: dict[tuple[str, str, dt.date], tuple[dt.date | None, dict]] = {}
    for r in in_window.filter(pl.col("status") == "loaded").sort("provider", "feed_date", "file_kind").iter_rows(named=True):
        k = (r["provider"], r["file_kind"], r["feed_date"])
        arrived = drop_date(r["drop_dir"])
        prev = first_copy.get(k)
        if prev is None or (arrived is not None and (prev[0] is None or arrived < prev[0])):
            first_copy[k] = (arrived, r)
    for arrived, r in first_copy.values():
        if arrived is None or arrived <= r["feed_date"]:
            continue
        late_days = (arrived - r["feed_date"]).days
        found.append(
            ExceptionItem(
                key=f"late_file:{r['provider']}:{r['file_kind']}:{r['feed_date'].isoformat()}",
                exception_type="late_file",
                explanation=(
                    f"Provider {r['provider']}'s {r['file_kind']} file for {r['feed_date']:%d/%m/%Y} ({r['file_name']}) "
                    f"arrived {late_days} day{'s' if late_days != 1 else ''} late, in the drop of {arrived:%d/%m/%Y}. "
                    "It is now loaded and the day has been reconciled again; nothing to do unless files from this "
                    "provider are often late."
                ),
                raised_for="finance",
                provider=r["provider"],
                london_date=r["feed_date"],
                difference_pence=None,
                cause=f"arrived_{arrived.isoformat()}",
                closed_on_arrival=True,
            )
        )
    return found


def feed_exceptions(
    files: pl.DataFrame,
    *,
    expected_providers: tuple[str, ...],
    date_from: dt.date,
    date_to: dt.date,
) -> list[ExceptionItem]:
    """``missing_file`` for each expected provider and London day in [date_from, date_to] lacking a loaded
    transactions or balances file; ``late_file`` for each loaded file that arrived in a later day's drop.

    A refused file does not count as arrived (its reason is quoted). Bounded: one item per provider and
    day for missing files, one per file for late ones.
    """
    assert date_from <= date_to, "feed check window is inverted"
    assert (date_to - date_from).days <= 400, "feed check window is unbounded"
    in_window = files.filter(pl.col("feed_date").is_between(date_from, date_to) & pl.col("provider").is_in(list(expected_providers)))
    return _missing_files(in_window, expected_providers, date_from, date_to) + _late_files(in_window)
