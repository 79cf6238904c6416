"""Words for explanations: money as pounds, account numbers as their last four digits, counts with
their nouns, and a list of item kinds ("2 cash withdrawals, 1 card purchase").

Why one place: every rule's explanation and every alert e-mail writes these the same way, and the
least-data rule (never a whole account number) is kept by ``last4`` alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from schemas.money import pounds

KIND_WORDS: dict[str, str] = {"cash": "cash withdrawal", "card_purchase": "card purchase", "payment_to_payee": "bank payment"}


def gbp(pence: int | float | None) -> str:
    """Pence as pounds for people: 38000 -> '£380.00'."""
    return pounds(None if pence is None else int(round(pence)), none="£0.00")


def last4(number: str | None) -> str:
    """Only the last four digits of an account number ever leave the system."""
    return (number or "")[-4:] or "????"


def plural(n: int, word: str, plural_word: str | None = None) -> str:
    """'1 day', '3 days'."""
    return f"{n} {word if n == 1 else (plural_word or word + 's')}"


def kinds_text(kinds: Iterable[str]) -> str:
    """Item kinds counted in words, in name order: '2 cash withdrawals, 1 card purchase'."""
    counts: dict[str, int] = {}
    for k in kinds:
        counts[k] = counts.get(k, 0) + 1
    return ", ".join(plural(n, KIND_WORDS.get(k, k.replace("_", " "))) for k, n in sorted(counts.items()))
