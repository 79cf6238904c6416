"""Card balances: the ledger's closing balance for each card and London day against the provider's.

Why: the provider's closing balance is the one outside fact the ledger can be proved against. A
difference means the ledger is missing something, has something the provider does not, or the
provider made an error; finance must know which, to the penny (tolerance zero by default).

Each difference is ``provider − ledger`` and is explained where the data allows, by naming the
provider item whose effect equals the difference:

- ``missing_transaction``: a settled provider item not in the ledger (stored but unposted, or held in
  quarantine) whose amount equals the difference — loading or correcting it closes the gap;
- ``amount_mismatch``: a settled item the provider sent again with another amount (a conflict held
  for review), or whose own running balance moved by another amount, differing by the difference;
- ``pending_booked_late``: an item still pending in our feed whose amount equals the difference —
  the provider has already booked it; its settlement will arrive in a later file;
- ``not_at_provider``: a settled ledger item on the day whose amount is minus the difference — the
  ledger has it, the provider's closing balance does not (booked on another day, or a duplicate);
- ``feed_gap``: nothing matches but a transactions file for the provider is missing on or before the day.

Otherwise the exception is open and unexplained. A provider balance for an account the cardholder
register does not know is an ``unknown_account`` exception: its money is held in the ledger's
suspense account ``suspense:<provider>:<account>`` and its balance is compared with that.

Pure: frames in, ``ExceptionItem``s out.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import polars as pl

from reconciliation.exceptions import ExceptionItem
from schemas.money import pounds

BALANCE_TYPES: tuple[str, ...] = ("balance_mismatch",)
UNKNOWN_TYPES: tuple[str, ...] = ("unknown_account",)
# When several causes fit, the one named first is the likelier (and the one to act on first).
CAUSE_ORDER: tuple[str, ...] = ("missing_transaction", "amount_mismatch", "pending_booked_late", "not_at_provider")

CANDIDATE_SCHEMA: dict[str, pl.DataType] = {
    "provider": pl.Utf8,
    "account_id": pl.Utf8,
    "provider_txn_id": pl.Utf8,
    "cause": pl.Utf8,  # one of CAUSE_ORDER
    "effect_pence": pl.Int64,  # the difference (provider − ledger) this item would account for
    "note": pl.Utf8,  # plain words about the item, e.g. "held in quarantine: bad date"
}

B_CREDIT_TYPES = frozenset({"gpa.credit", "transfer.in", "refund", "chargeback.credit", "adjustment.credit"})


def last4(account_id: str | None) -> str:
    """Reports carry the last four characters of an account, never the whole number."""
    if not account_id:
        return ""
    return "…" + str(account_id)[-4:]


def _money_text_to_pence(value: str) -> int | None:
    v = value.replace("£", "").replace(",", "").strip()
    if not v:
        return None
    neg = v.startswith("-")
    v = v.lstrip("-")
    if "." in v:
        whole, frac = v.split(".", 1)
        frac = (frac + "00")[:2]
    else:
        whole, frac = v, "00"
    if not (whole.isdigit() and frac.isdigit()):
        return None
    pence = int(whole) * 100 + int(frac)
    return -pence if neg else pence


def quarantined_effect(provider: str | None, raw_text: str | None) -> tuple[str, str, int] | None:
    """(account_id, provider_txn_id, signed pence) of a quarantined row, read from its raw text where the
    format allows (provider A's CSV line, B's event JSON, C's transaction JSON, or a canonical conflict
    row); None when it cannot be read — the row is still reported on its own as quarantined."""
    if not raw_text:
        return None
    text = raw_text.strip()
    try:
        if text.startswith("{"):
            obj = json.loads(text)
            if "amount_pence" in obj and "account_id" in obj:  # canonical (conflict rows)
                return str(obj["account_id"]), str(obj.get("provider_txn_id") or ""), int(obj["amount_pence"])
            if "card_token" in obj and "amount_minor" in obj:  # provider B event
                sign = 1 if obj.get("type") in B_CREDIT_TYPES else -1
                return str(obj["card_token"]), str(obj.get("token") or ""), sign * int(obj["amount_minor"])
            if "AccountId" in obj and "Amount" in obj:  # provider C transaction
                pence = _money_text_to_pence(str(obj["Amount"].get("Amount", "")))
                if pence is None:
                    return None
                sign = 1 if obj.get("CreditDebitIndicator") == "Credit" else -1
                return str(obj["AccountId"]), str(obj.get("TransactionId") or ""), sign * pence
            return None
        if provider == "A":
            row = next(csv.reader(io.StringIO(text)))
            if len(row) < 10:
                return None
            money_in, money_out = _money_text_to_pence(row[8]), _money_text_to_pence(row[9])
            if money_in is not None and money_out is None:
                return row[0], row[1], money_in
            if money_out is not None and money_in is None:
                return row[0], row[1], -money_out
    except (ValueError, TypeError, AttributeError, StopIteration, json.JSONDecodeError):
        return None
    return None


def _candidate(r: dict, cause: str, effect_pence: int, note: str, **ids) -> dict:
    return {"provider": r["provider"], "account_id": ids.get("account_id", r.get("account_id")),
            "provider_txn_id": ids.get("provider_txn_id", r.get("provider_txn_id")), "cause": cause,
            "effect_pence": effect_pence, "note": note}


def _unposted_candidates(unposted_settled: pl.DataFrame) -> list[dict]:
    return [
        _candidate(r, "missing_transaction", int(r["amount_pence"]), "settled at the provider but not posted to the ledger")
        for r in unposted_settled.iter_rows(named=True)
    ]


def _with_effects(quarantine: pl.DataFrame) -> list[tuple[dict, str, str, int]]:
    """(row, account_id, provider_txn_id, signed pence) of each quarantined row whose raw text can be read."""
    out = []
    for r in quarantine.iter_rows(named=True):
        eff = quarantined_effect(r["provider"], r["raw_text"])
        if eff is not None:
            out.append((r, *eff))
    return out


def _quarantined_candidates(quarantined: pl.DataFrame) -> list[dict]:
    rows = []
    for r, acct, txn, pence in _with_effects(quarantined):
        rows.append(_candidate(r, "missing_transaction", pence, f"held in quarantine ({(r['reason'] or '').strip()[:120]})",
                               account_id=acct, provider_txn_id=r["provider_txn_id"] or txn))
    return rows


def _conflict_candidates(conflicts: pl.DataFrame, stored_amounts: pl.DataFrame) -> list[dict]:
    stored = {(p, t): int(a) for p, t, a in stored_amounts.select("provider", "provider_txn_id", "amount_pence").iter_rows()}
    rows = []
    for r, acct, txn, pence in _with_effects(conflicts):
        txn = r["provider_txn_id"] or txn
        old = stored.get((r["provider"], txn))
        if old is None or old == pence:
            continue
        rows.append(_candidate(r, "amount_mismatch", pence - old,
                               f"the provider sent it again for {pounds(pence)}; the ledger holds {pounds(old)}",
                               account_id=acct, provider_txn_id=txn))
    return rows


def _hold_candidates(open_holds: pl.DataFrame, day: dt.date) -> list[dict]:
    return [
        _candidate(r, "pending_booked_late", int(r["amount_pence"]), "still pending in our feed; the provider has already booked it")
        for r in open_holds.iter_rows(named=True)
        if r["london_date"] is None or r["london_date"] <= day
    ]


def _settled_candidates(settled_on_day: pl.DataFrame) -> list[dict]:
    rows = []
    for r in settled_on_day.iter_rows(named=True):
        rows.append(_candidate(r, "not_at_provider", -int(r["amount_pence"]),
                               "in the ledger on this day but not in the provider's closing balance"))
        after, before = r.get("balance_after_pence"), r.get("prev_balance_after_pence")
        if after is not None and before is not None:
            moved = int(after) - int(before)
            if moved != int(r["amount_pence"]):
                rows.append(_candidate(r, "amount_mismatch", moved - int(r["amount_pence"]),
                                       f"the provider's running balance moved by {pounds(moved)} for this item, "
                                       f"the ledger booked {pounds(int(r['amount_pence']))}"))
    return rows


def explanation_candidates(
    day: dt.date,
    *,
    unposted_settled: pl.DataFrame,
    quarantined: pl.DataFrame,
    conflicts: pl.DataFrame,
    stored_amounts: pl.DataFrame,
    open_holds: pl.DataFrame,
    settled_on_day: pl.DataFrame,
) -> pl.DataFrame:
    """Every provider item that could account for a difference on ``day``, with the difference it would
    account for (``effect_pence``, provider − ledger).

    - ``unposted_settled``: settled transactions with no journal entry (provider, account_id, provider_txn_id, amount_pence)
    - ``quarantined``: quarantine rows (provider, provider_txn_id, reason, raw_text) not conflicts
    - ``conflicts``: quarantine rows whose reason starts "conflict" (raw_text is the canonical row)
    - ``stored_amounts``: the stored amount of items named by conflicts (provider, provider_txn_id, amount_pence)
    - ``open_holds``: pending items still holding funds at the end of the day
    - ``settled_on_day``: posted items booked on the day (provider, account_id, provider_txn_id, amount_pence,
      balance_after_pence, prev_balance_after_pence) — for items the provider does not have, and for items
      whose own running balance moved by another amount
    """
    rows = [
        *_unposted_candidates(unposted_settled),
        *_quarantined_candidates(quarantined),
        *_conflict_candidates(conflicts, stored_amounts),
        *_hold_candidates(open_holds, day),
        *_settled_candidates(settled_on_day),
    ]
    return pl.DataFrame(rows, schema=CANDIDATE_SCHEMA) if rows else pl.DataFrame(schema=CANDIDATE_SCHEMA)


_ACTIONS = {
    "missing_transaction": "Load or correct this item and the difference closes.",
    "amount_mismatch": "Check the item's amount with the provider; correct the ledger if the provider is right.",
    "pending_booked_late": "No action if its settlement arrives in the next file; chase it if it does not.",
    "not_at_provider": "Check with the provider whether they booked it on another day or whether it is a duplicate.",
}


def _balance_mismatch(
    day: dt.date, r: dict, owner: tuple[str | None, str | None], candidates: list[dict], gap_days: list[dt.date] | None
) -> ExceptionItem:
    """One card's difference, with the likeliest cause: the first candidate whose effect equals it (in
    CAUSE_ORDER), else a missing transactions file of its provider, else unexplained."""
    p, acct, diff = r["provider"], r["account_id"], int(r["diff"])
    client, council = owner
    where = f"card {last4(acct)} (provider {p}" + (f", client {client})" if client else ", not in the cardholder register)")
    head = (
        f"On {day:%d/%m/%Y} the provider's closing balance for {where} is {pounds(int(r['closing_balance_pence']))}"
        if not r["_absent"]
        else f"On {day:%d/%m/%Y} provider {p} reported no closing balance for {where}"
    )
    head += f"; the ledger holds {pounds(int(r['ledger_pence']))}, a difference of {pounds(diff)} (provider minus ledger)."
    matches = [c for c in candidates if int(c["effect_pence"]) == diff]
    matches.sort(key=lambda c: (CAUSE_ORDER.index(c["cause"]), c["provider_txn_id"] or ""))
    cause, evidence, explained = None, (), False
    if matches:
        best = matches[0]
        cause, evidence, explained = best["cause"], (f"{p}:{best['provider_txn_id']}",), True
        text = f"{head} Likely cause: item {best['provider_txn_id']} — {best['note']}, amount {pounds(diff)}. {_ACTIONS[cause]}"
    elif gap_days:
        cause, explained = "feed_gap", True
        text = (
            f"{head} Provider {p}'s transactions file for "
            f"{', '.join(d.strftime('%d/%m/%Y') for d in sorted(gap_days)[-3:])} has not arrived, so items are missing from "
            "the ledger; this difference is expected to close when the file is loaded."
        )
    else:
        text = (
            f"{head} No single provider item accounts for it. Ask the provider for the card's statement for the day "
            "and compare item by item with the ledger's statement of account."
        )
    return ExceptionItem(
        key=f"balance_mismatch:{p}:{acct}:{day.isoformat()}", exception_type="balance_mismatch", explanation=text,
        raised_for="finance", council=council, client_id=client, provider=p, account_id=acct, london_date=day,
        amount_pence=int(r["closing_balance_pence"]), difference_pence=diff, explained=explained, cause=cause,
        evidence=evidence,
    )


def reconcile_balances(
    day: dt.date,
    *,
    ledger: pl.DataFrame,
    provider: pl.DataFrame,
    register: pl.DataFrame,
    candidates: pl.DataFrame,
    feed_gaps: dict[str, list[dt.date]] | None = None,
    tolerance_pence: int = 0,
    reporting_providers: set[str] | None = None,
) -> list[ExceptionItem]:
    """Compare each card's ledger closing balance with the provider's for ``day``.

    - ``ledger``: card_balances as of the day (provider, account_id, client_id, council, balance_pence);
      unknown cards appear with their suspense balance and no client.
    - ``provider``: provider_balances of the day (provider, account_id, closing_balance_pence).
    - ``register``: cardholders (provider, account_id, client_id, council).
    - ``feed_gaps``: provider -> days on or before ``day`` with no transactions file loaded.
    - ``reporting_providers``: providers that sent balances for the day (default: those in ``provider``).

    A card the ledger holds money for, of a provider that reported balances that day but not for this
    card, is compared against zero. Returns one ``balance_mismatch`` per card whose difference exceeds
    the tolerance.
    """
    assert tolerance_pence >= 0
    feed_gaps = feed_gaps or {}
    known = {(p, a): (c, co) for p, a, c, co in register.select("provider", "account_id", "client_id", "council").iter_rows()}
    prov = provider.filter(pl.col("balance_date") == day) if "balance_date" in provider.columns else provider
    reporting = reporting_providers if reporting_providers is not None else set(prov["provider"].unique().to_list())
    joined = prov.select("provider", "account_id", "closing_balance_pence").join(
        ledger.select("provider", "account_id", pl.col("balance_pence").alias("ledger_pence")),
        on=["provider", "account_id"],
        how="full",
        coalesce=True,
    )
    joined = joined.filter(pl.col("provider").is_in(list(reporting))).with_columns(
        pl.col("ledger_pence").fill_null(0),
        pl.col("closing_balance_pence").is_null().alias("_absent"),
        pl.col("closing_balance_pence").fill_null(0),
    ).with_columns((pl.col("closing_balance_pence") - pl.col("ledger_pence")).alias("diff"))
    diffs = joined.filter(pl.col("diff").abs() > tolerance_pence).sort("provider", "account_id")
    by_account: dict[tuple[str, str], list[dict]] = {}
    for c in candidates.iter_rows(named=True):
        by_account.setdefault((c["provider"], c["account_id"]), []).append(c)
    found = [
        _balance_mismatch(day, r, known.get((r["provider"], r["account_id"]), (None, None)),
                          by_account.get((r["provider"], r["account_id"]), []), feed_gaps.get(r["provider"]))
        for r in diffs.iter_rows(named=True)
    ]
    return found


def unknown_accounts(provider: pl.DataFrame, register: pl.DataFrame, first_seen: dict[tuple[str, str], dt.date]) -> list[ExceptionItem]:
    """One ``unknown_account`` per provider account with a balance that the cardholder register does not know.

    Why separate from balance differences: the money is accounted for (held in suspense), but no person
    or council owns it in our books until the register places it — a question for finance, not an error.
    """
    known = set(register.select("provider", "account_id").iter_rows())
    out: list[ExceptionItem] = []
    latest = provider.sort("balance_date").unique(["provider", "account_id"], keep="last")
    for r in latest.sort("provider", "account_id").iter_rows(named=True):
        k = (r["provider"], r["account_id"])
        if k in known:
            continue
        since = first_seen.get(k, r["balance_date"])
        out.append(
            ExceptionItem(
                key=f"unknown_account:{r['provider']}:{r['account_id']}",
                exception_type="unknown_account",
                explanation=(
                    f"Provider {r['provider']} reports card {last4(r['account_id'])} (balance {pounds(int(r['closing_balance_pence']))} "
                    f"on {r['balance_date']:%d/%m/%Y}, first seen {since:%d/%m/%Y}) but no client in the cardholder register "
                    f"has it. Its money is held in the ledger's suspense account suspense:{r['provider']}:{last4(r['account_id'])}. "
                    "Find out whose card it is (ask the provider), then add it to cardholders.csv or have the card closed."
                ),
                raised_for="finance",
                provider=r["provider"],
                account_id=r["account_id"],
                london_date=since,
                amount_pence=int(r["closing_balance_pence"]),
                explained=True,
                cause="unknown_account",
            )
        )
    return out
