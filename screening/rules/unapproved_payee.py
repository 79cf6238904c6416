"""unapproved_payee: bank payments (no MCC) to a sort code + account that is not an approved payee of
the client that day (payees.csv ``approved_from..approved_to``).

Parameters: none (the approved-payee list is the policy). Episode: one per payee account; every day's
payments to it are findings about its first unapproved payment's day, so a weekly standing order to an
unknown person is one question, not many.
"""

from __future__ import annotations

import polars as pl

from screening.findings import Finding
from screening.rules.base import Rule, ScreenInput, to_findings
from screening.rules.payees import names_match, payments_with_approval
from screening.rules.text import gbp, last4, plural

_ACCOUNT = ["client_id", "payee_sort_code", "payee_account_number"]


def _approved_names(inp: ScreenInput, pay: pl.DataFrame) -> dict[str, list[tuple[str, str]]]:
    """Per client with an unapproved payment: its approved payees' (name, account number)."""
    names: dict[str, list[tuple[str, str]]] = {}
    if pay.height:
        clients = pay["client_id"].unique().to_list()
        for c, n, acct in inp.payees.filter(pl.col("client_id").is_in(clients)).select("client_id", "payee_name", "account_number").iter_rows():
            names.setdefault(c, []).append((n, acct))
    return names


def _episodes(pay: pl.DataFrame) -> pl.DataFrame:
    """One row per payee account and day, about the account's first unapproved day."""
    return (
        pay.group_by(*_ACCOUNT, "london_date")
        .agg(
            pl.col("txn").alias("evidence"),
            pl.col("out_pence").sum().alias("amount_pence"),
            pl.len().alias("n"),
            pl.struct(
                "out_pence", "payee_name", "payee_account_number", "payee_sort_code", "known_account",
                "first_approved_from", "last_approved_to",
            ).alias("parts"),
        )
        .with_columns(
            pl.col("london_date").alias("detected_on"),
            pl.col("london_date").min().over(*_ACCOUNT).alias("first_paid"),
        )
        .with_columns(pl.col("first_paid").alias("london_date"))
    )


def unapproved_payee(inp: ScreenInput) -> list[Finding]:
    """Bank payments (no MCC) to a sort code + account that is not an approved payee of the client that day.

    The tolerant name match only explains: a known payee's name on a new account reads "account changed for
    a known payee name", anything else "unknown payee"; matching itself is by sort code and account.
    """
    pay = payments_with_approval(inp).filter(~pl.col("approved"))
    names = _approved_names(inp, pay)
    df = _episodes(pay)

    def why(r: dict, p: dict) -> str:
        acct = f"account ending {last4(p['payee_account_number'])}"
        if p["known_account"]:
            if p["first_approved_from"] and p["first_approved_from"] > r["detected_on"]:
                return f"{acct}: approved payee, but not until {p['first_approved_from']}"
            return f"{acct}: payee's approval ended {p['last_approved_to']}"
        known = [a for n, a in names.get(r["client_id"], []) if names_match(n, p["payee_name"])]
        if known:
            return f"{acct}: account changed for a known payee name (approved account ends {last4(known[0])})"
        return f"{acct}: unknown payee, not on the approved list"

    def explain(r: dict) -> str:
        p = r["parts"][0]
        since = f" (first unapproved payment seen {r['london_date']})" if r["london_date"] != r["detected_on"] else ""
        return (
            f"{plural(r['n'], 'bank payment')} totalling {gbp(r['amount_pence'])} on {r['detected_on']} to a payee not "
            f"approved that day{since}: {why(r, p)}."
        )

    def policy(r: dict) -> str:
        return f"{r['council']} approved payees (payees.csv: sort code + account, approved_from..approved_to)"

    return to_findings(inp, RULE, df, explain, policy=policy, override=lambda r: None)


RULE = Rule("unapproved_payee", severity="medium", params=(), find=unapproved_payee)
