"""Bank payments and the approved-payee list: whether a payment's sort code + account was an approved
payee of the client that day (``payments_with_approval``, read by unapproved_payee and
new_payee_burst), and the tolerant payee-name match that explains an unapproved one.
"""

from __future__ import annotations

import re

import polars as pl

from screening.rules.base import ScreenInput
from screening.rules.frames import items_of

_NAME_TOKEN = re.compile(r"[A-Z]+")


def name_tokens(name: str | None) -> list[str]:
    """Upper-case letter tokens of a name: punctuation, case and order stop mattering."""
    return _NAME_TOKEN.findall((name or "").upper().replace("'", ""))


def _token_matches(t: str, p: str) -> bool:
    """The same word, or one is the initial of the other."""
    return t == p or (len(t) == 1 and p.startswith(t)) or (len(p) == 1 and t.startswith(p))


def names_match(a: str | None, b: str | None) -> bool:
    """Tolerant person/organisation name match: "MARY JONES" = "Jones M" = "JONES, MARY" = "M. Jones".

    Why tolerant: banks and people write the same payee differently; a strict comparison would make
    "known payee, new account" versus "unknown person" depend on punctuation. Two names match when they
    share a full word (two letters or more) and every other word of the shorter name equals, or is the
    initial of, a distinct word of the longer one.
    """
    ta, tb = name_tokens(a), name_tokens(b)
    if not ta or not tb:
        return False
    short, long_ = (ta, tb) if len(ta) <= len(tb) else (tb, ta)
    if not any(len(t) > 1 and t in long_ for t in short):
        return False
    pool = list(long_)
    for t in sorted(short, key=len, reverse=True):  # full words first, then initials
        hit = next((p for p in pool if p == t), None) or next((p for p in pool if _token_matches(t, p)), None)
        if hit is None:
            return False
        pool.remove(hit)
    return True


def payments_with_approval(inp: ScreenInput) -> pl.DataFrame:
    """Bank payments out, each with whether its sort code + account was an approved payee that day."""
    pay = items_of(inp, ["payment_to_payee"]).filter(pl.col("out_pence") > 0)
    pv = inp.payees.select(
        "client_id",
        pl.col("sort_code").alias("payee_sort_code"),
        pl.col("account_number").alias("payee_account_number"),
        "approved_from",
        "approved_to",
        pl.col("kind").alias("payee_kind"),
    )
    j = pay.select("txn", "client_id", "london_date", "payee_sort_code", "payee_account_number").join(
        pv, on=["client_id", "payee_sort_code", "payee_account_number"], how="left"
    )
    ok = (pl.col("approved_from") <= pl.col("london_date")) & (
        pl.col("approved_to").is_null() | (pl.col("london_date") <= pl.col("approved_to"))
    )
    status = j.group_by("txn").agg(
        ok.fill_null(False).any().alias("approved"),
        pl.col("approved_from").is_not_null().any().alias("known_account"),
        pl.col("approved_from").filter(ok.fill_null(False)).min().alias("approved_since"),
        pl.col("approved_from").min().alias("first_approved_from"),
        pl.col("approved_to").max().alias("last_approved_to"),
        pl.col("payee_kind").drop_nulls().first().alias("payee_kind"),
    )
    return pay.join(status, on="txn", how="left")
