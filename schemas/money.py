"""Money as text: the one place pence become pounds for people, spreadsheets and Beancount.

Why one module: the same pence must read the same in an alert, a report, a schedule and a CSV.
Formatting is exact integer arithmetic (divmod), never float.
"""

from __future__ import annotations


def pounds(pence: int | None, *, symbol: bool = True, thousands: bool = True, none: str = "") -> str:
    """Pence as pounds: 123456 -> '£1,234.56'; -5 -> '-£0.05'; None -> ``none``.

    ``symbol=False, thousands=False`` gives plain '1234.56' for CSVs and Beancount.
    """
    if pence is None:
        return none
    pence = int(pence)
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(pence), 100)
    return f"{sign}{'£' if symbol else ''}{whole:,}.{part:02d}" if thousands else f"{sign}{'£' if symbol else ''}{whole}.{part:02d}"


def pounds_plain(pence: int | None) -> str:
    """Pence as plain pounds for files machines and spreadsheets read: -1249 -> '-12.49'; None -> ''."""
    return pounds(pence, symbol=False, thousands=False)
