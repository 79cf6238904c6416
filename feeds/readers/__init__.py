"""Readers: each provider's file, and the council's extract, turned into the canonical shapes.

Two ways a reader says no (docs/feeds.md, "Refusal vs quarantine"):
- ``FileRefused``: the file as a whole cannot be trusted (wrong header, truncated or invalid JSON,
  an encoding that is neither UTF-8 nor Windows-1252, empty or binary). Nothing of it loads; the
  message says which file, what was expected, what was found and what happens next.
- quarantine: one row is bad (a malformed date or amount, an unknown type, a missing field). It
  is kept with file, line, raw text (card numbers masked) and reason; the rest of the file loads.

Card numbers are masked before anything leaves a reader, and each one found is an ``Incident``.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from feeds.readers import provider_a, provider_b, provider_c
from feeds.readers.common import FileRefused, ReadResult
from feeds.readers.pan import Incident
from feeds.readers.reference import read_reference

_NAME_RE = re.compile(
    r"^(?:(?P<a>A)_(?P<akind>transactions|balances)_(?P<adate>\d{8})\.csv"
    r"|(?P<b>B)_(?P<bkind>events|balances)_(?P<bdate>\d{8})\.jsonl"
    r"|(?P<c>C)_(?P<ckind>transactions|balances)_(?P<cdate>\d{8})\.json)$"
)


def detect_file(path: Path | str) -> tuple[str, str, dt.date] | None:
    """(provider, 'transactions' | 'balances', feed date) from a provider file's name, else None.

    B's ``events`` files are its transactions. A name with an impossible date (``20260230``) is not
    a provider file.
    """
    m = _NAME_RE.match(Path(path).name)
    if m is None:
        return None
    for p in ("a", "b", "c"):
        if m.group(p):
            kind, digits = m.group(f"{p}kind"), m.group(f"{p}date")
            break
    try:
        day = dt.datetime.strptime(digits, "%Y%m%d").date()
    except ValueError:
        return None
    return m.group(p).upper(), ("transactions" if kind == "events" else kind), day


def provider_files(drop_dir: Path | str) -> list[Path]:
    """The provider files of a drop folder in the order they are loaded: every transactions file before
    any balances file (a balance is checked against the items that led to it), then by feed date, then
    by name. The one definition of that order: ``feeds.ingest`` loads in it and the Airflow DAG maps
    its per-file tasks in it."""
    found = [(info, p) for p in sorted(Path(drop_dir).iterdir()) if p.is_file() and (info := detect_file(p)) is not None]
    found.sort(key=lambda x: (0 if x[0][1] == "transactions" else 1, x[0][2], x[1].name))
    return [p for _, p in found]


def read_provider_file(path: Path | str) -> ReadResult:
    """Read one provider file into canonical transactions or balances, quarantine and incidents.

    Raises FileRefused when the file as a whole cannot be read.
    """
    path = Path(path)
    found = detect_file(path)
    if found is None:
        raise FileRefused(
            f"{path.name}: expected a provider file name such as A_transactions_YYYYMMDD.csv, "
            f"B_events_YYYYMMDD.jsonl or C_balances_YYYYMMDD.json; found another name. Nothing was loaded from it."
        )
    try:
        if not path.is_file():
            raise FileRefused(f"{path.name}: expected a file; found nothing at {path}. Nothing was loaded from it.")
        provider, kind, _day = found
        reader = {
            ("A", "transactions"): provider_a.read_transactions,
            ("A", "balances"): provider_a.read_balances,
            ("B", "transactions"): provider_b.read_events,
            ("B", "balances"): provider_b.read_balances,
            ("C", "transactions"): provider_c.read_transactions,
            ("C", "balances"): provider_c.read_balances,
        }[(provider, kind)]
        return reader(path)
    except OSError as exc:
        raise FileRefused(f"{path.name}: could not be opened ({exc}). Nothing was loaded from it.") from exc


__all__ = ["FileRefused", "Incident", "ReadResult", "detect_file", "provider_files", "read_provider_file", "read_reference"]
