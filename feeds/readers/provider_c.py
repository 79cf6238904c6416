"""Provider C — UK Open Banking Read/Write API v3.1 bodies: OBReadTransaction6 and OBReadBalance1.

The file is one JSON document, so it is all or nothing as JSON: truncated or invalid JSON, or no
``Data.Transaction`` (``Data.Balance``) list, refuses the file. Inside it, one transaction that
cannot be read (no TransactionId, a malformed amount, a currency other than GBP) is quarantined
with ``source_line`` = its index + 1 in ``Data.Transaction`` and the rest loads.

Mapping (docs/feeds.md): ``Pending`` → pending, ``Booked`` → settled (the same TransactionId is
listed again as Booked once it settles; a pending item that expires simply stops being listed).
Kind: a Debit with a MerchantCategoryCode is a card purchase (6010/6011: cash); a Debit naming a
CreditorAccount is a payment to a payee; a Credit with MerchantDetails is a refund; any other
Credit is money in (classify decides council load — DebtorAccount is the council's funding account —
contribution or other). Bank transaction codes fill the gaps (fees, cash withdrawals, direct
debits). ``BookingDateTime`` is when the item happened; a Booked item's posting date is its London
date. ``Identification`` under ``UK.OBIE.SortCodeAccountNumber`` is split into the 6-digit sort
code and 8-digit account and is never treated as a card number (see feeds/readers/pan.py).

Python per item here (not polars): Open Banking responses are paged per account and small, and
the nesting makes a per-item walk the clearest correct reading.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from feeds.readers.common import (
    ReadResult,
    concat_quarantine,
    decode_bytes,
    in_file_repeats,
    refuse,
)
from feeds.readers.pan import Incident, describe, mask_with_hits, might_hold_pan
from feeds.readers.provider_a import balance_repeats, conflict_reasons
from schemas.canonical import BALANCE_SCHEMA, CANONICAL_SCHEMA, QUARANTINE_SCHEMA, conform

LONDON = ZoneInfo("Europe/London")
SORT_CODE_SCHEME = "UK.OBIE.SortCodeAccountNumber"
PAN_SCHEME = "UK.OBIE.PAN"
CASH_MCCS = ("6010", "6011")
STATUS_MAP = {"Booked": "settled", "Pending": "pending"}
# Bank transaction codes (ISO 20022 family / proprietary codes) that say what an item without
# merchant or account details is.
FEE_CODES = {"fee", "fees", "charges", "charge", "chargesfees", "commission"}
CASH_CODES = {"cashwithdrawal", "cashwithdrawals", "atm", "cash"}
CARD_CODES = {"pos", "cardpayment", "posdebit", "cardtransaction", "ecommerce"}


class ItemError(ValueError):
    """One Open Banking item cannot be read; the message is the quarantine reason."""


def _load_json(path: Path) -> dict:
    text, _ = decode_bytes(path.read_bytes(), path, allow_cp1252=False)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        truncated = _ends_part_way(text)
        what = "the document ends part-way (truncated)" if truncated else f"invalid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        raise refuse(path, "one complete Open Banking JSON document", what) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("Data"), dict):
        raise refuse(path, "an Open Banking response body with a 'Data' object", "no 'Data' object")
    return doc


def _ends_part_way(text: str) -> bool:
    """Does the JSON text stop inside a string or with brackets still open (and no mismatched
    bracket before that)? That is a file cut off in transfer, as opposed to one written wrongly."""
    stack: list[str] = []
    in_string = escaped = False
    pairs = {"}": "{", "]": "["}
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append(ch)
        elif ch in "}]" and (not stack or stack.pop() != pairs[ch]):
            return False  # a closing bracket that does not match: written wrongly, not cut off
    return in_string or bool(stack)


def _pence(amount: Any, where: str) -> int:
    if not isinstance(amount, dict):
        raise ItemError(f"{where} is missing")
    currency = amount.get("Currency")
    if currency != "GBP":
        raise ItemError(f"{where}.Currency {currency!r} is not GBP (only sterling items are accepted)")
    raw = amount.get("Amount")
    if not isinstance(raw, str):
        raise ItemError(f"{where}.Amount {raw!r} is not a decimal string")
    try:
        pounds = Decimal(raw)
    except InvalidOperation as exc:
        raise ItemError(f"{where}.Amount {raw!r} is not a decimal amount") from exc
    pence = pounds * 100
    if not pounds.is_finite() or pence != pence.to_integral_value() or pounds < 0:
        raise ItemError(f"{where}.Amount {raw!r} is not a whole, non-negative number of pence")
    return int(pence)


def _signed(obj: dict, where: str) -> int:
    pence = _pence(obj.get("Amount"), f"{where}.Amount" if where else "Amount")
    indicator = obj.get("CreditDebitIndicator")
    if indicator not in ("Credit", "Debit"):
        raise ItemError(f"{where + '.' if where else ''}CreditDebitIndicator {indicator!r} is not Credit or Debit")
    return pence if indicator == "Credit" else -pence


def _instant(value: Any, field: str) -> dt.datetime:
    if not isinstance(value, str):
        raise ItemError(f"{field} is missing")
    try:
        at = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ItemError(f"{field} {value!r} is not an ISO 8601 date-time") from exc
    if at.tzinfo is None:
        raise ItemError(f"{field} {value!r} has no UTC offset")
    return at.astimezone(dt.UTC)


def _account(obj: Any) -> tuple[str | None, str | None, str | None]:
    """(name, sort code, account number) of a CreditorAccount / DebtorAccount."""
    if not isinstance(obj, dict):
        return None, None, None
    ident = str(obj.get("Identification") or "")
    sort = acct = None
    if obj.get("SchemeName") == SORT_CODE_SCHEME:
        digits = ident.replace(" ", "").replace("-", "")
        if not (digits.isdigit() and len(digits) == 14):
            raise ItemError(f"{SORT_CODE_SCHEME} Identification {ident!r} is not 6 + 8 digits")
        sort, acct = digits[:6], digits[6:]
    return obj.get("Name") or None, sort, acct


def _code(item: dict) -> str:
    parts = []
    for key in ("ProprietaryBankTransactionCode", "BankTransactionCode"):
        v = item.get(key)
        if isinstance(v, dict):
            parts += [str(v.get("Code") or ""), str(v.get("SubCode") or "")]
    return " ".join(p.lower() for p in parts if p)


def _kind(item: dict, amount: int, mcc: str | None) -> str:
    codes = set(_code(item).split())
    if amount < 0:
        if mcc:
            return "cash" if mcc in CASH_MCCS else "card_purchase"
        if codes & CASH_CODES:
            return "cash"
        if codes & FEE_CODES:
            return "fee"
        if codes & CARD_CODES:
            return "card_purchase"
        return "payment_to_payee"  # money left the card to someone; a question if no payee is named
    if isinstance(item.get("MerchantDetails"), dict) and (mcc or item["MerchantDetails"].get("MerchantName")):
        return "refund"
    return "other_money_in"


def _mask_item(item: Any, path: str, hits: list[tuple[str, str]], scheme: str | None = None) -> Any:
    """Mask card numbers in every value; Identification follows its SchemeName (pan.py docstring)."""
    if isinstance(item, dict):
        scheme_here = item.get("SchemeName") if isinstance(item.get("SchemeName"), str) else None
        return {k: _mask_item(v, f"{path}.{k}" if path else k, hits, scheme_here) for k, v in item.items()}
    if isinstance(item, list):
        return [_mask_item(v, f"{path}[{i}]", hits) for i, v in enumerate(item)]
    if isinstance(item, bool) or item is None or not isinstance(item, int | str):
        return item
    text = str(item)
    is_ident = path.endswith("Identification")
    if is_ident and scheme == SORT_CODE_SCHEME:
        return item
    if is_ident and scheme == PAN_SCHEME:
        digits = "".join(ch for ch in text if ch.isdigit())
        if digits:
            hits.append((path, f"a card number ending {digits[-4:]} sent as {PAN_SCHEME} in {path!r}; masked before storing"))
            return "*" * max(len(text) - 4, 0) + text[-4:]
        return item
    masked, found = mask_with_hits(text, skip_identification=False)
    if found:
        hits.append((path, describe(found, path)))
        return masked
    return item


def _transaction(item: dict, name: str, line: int) -> dict:
    if not isinstance(item, dict):
        raise ItemError("the item is not a JSON object")
    for key in ("AccountId", "TransactionId"):
        if not isinstance(item.get(key), str) or not item[key].strip():
            raise ItemError(f"{key} is missing")
    status = STATUS_MAP.get(item.get("Status"))  # type: ignore[arg-type]
    if status is None:
        raise ItemError(f"Status {item.get('Status')!r} is not Booked or Pending")
    amount = _signed(item, "")
    if status == "settled" and amount == 0:
        raise ItemError("a Booked item of 0.00 cannot be posted")
    booked_at = _instant(item.get("BookingDateTime"), "BookingDateTime")
    # When the card was used: a Booked card payment's BookingDateTime is its posting instant, and its
    # earlier ValueDateTime the moment it was authorised. The ledger still books on the posting day
    # (posted_date), as for provider A; screening needs the moment of use (screening/rules.py).
    value_at = _instant(item["ValueDateTime"], "ValueDateTime") if item.get("ValueDateTime") else None
    used_at = value_at if value_at is not None and value_at < booked_at else booked_at
    merchant = item.get("MerchantDetails") if isinstance(item.get("MerchantDetails"), dict) else {}
    mcc = merchant.get("MerchantCategoryCode")
    if mcc is not None and not (isinstance(mcc, str) and len(mcc) == 4 and mcc.isdigit()):
        raise ItemError(f"MerchantDetails.MerchantCategoryCode {mcc!r} is not 4 digits")
    counterparty = item.get("CreditorAccount") if amount < 0 else item.get("DebtorAccount")
    payee_name, sort, acct = _account(counterparty)
    balance = None
    if isinstance(item.get("Balance"), dict):
        balance = _signed(item["Balance"], "Balance")
    london_day = used_at.astimezone(LONDON).date()
    return {
        "provider": "C",
        "provider_txn_id": item["TransactionId"].strip(),
        "account_id": item["AccountId"].strip(),
        "kind": _kind(item, amount, mcc),
        "status": status,
        "amount_pence": amount,
        "currency": "GBP",
        "occurred_at_utc": used_at,
        "london_date": london_day,
        "posted_date": booked_at.astimezone(LONDON).date() if status == "settled" else None,
        "merchant_name": merchant.get("MerchantName") or None,
        "mcc": mcc,
        "merchant_country": None,
        "payee_name": payee_name,
        "payee_sort_code": sort,
        "payee_account_number": acct,
        "reference": item.get("TransactionReference") or None,
        "related_txn_id": None,
        "balance_after_pence": balance,
        "source_file": name,
        "source_line": line,
    }


def _items(doc: dict, key: str, path: Path) -> list:
    items = doc["Data"].get(key)
    if not isinstance(items, list):
        raise refuse(path, f"an Open Banking body with a 'Data.{key}' list", f"no 'Data.{key}' list")
    return items


def read_transactions(path: Path) -> ReadResult:
    name = path.name
    items = _items(_load_json(path), "Transaction", path)
    scan = might_hold_pan(path.read_bytes().decode("utf-8", errors="replace"))  # skip the walk when no PAN can be there
    rows, bad, incidents = [], [], []
    for i, raw_item in enumerate(items):
        line = i + 1
        hits: list[tuple[str, str]] = []
        item = _mask_item(raw_item, "", hits) if scan else raw_item
        incidents.extend(Incident(name, line, f, d) for f, d in hits)
        try:
            rows.append(_transaction(item, name, line))
        except ItemError as exc:
            bad.append(_bad(name, line, item, str(exc)))
    txns = pl.DataFrame(rows, schema=CANONICAL_SCHEMA, orient="row") if rows else pl.DataFrame(schema=CANONICAL_SCHEMA)
    compare = [k for k in CANONICAL_SCHEMA if k != "source_line"]
    kept, conflicts = in_file_repeats(txns, ["provider_txn_id", "status"], compare)
    raw_by_line = {b["source_line"]: b for b in bad}
    conflict_rows = conflict_reasons(conflicts, "TransactionId")
    quarantine_parts = [pl.DataFrame(list(raw_by_line.values()), schema=QUARANTINE_SCHEMA)]
    if conflict_rows.height:
        quarantine_parts.append(
            conflict_rows.select(
                "source_file",
                "source_line",
                "provider",
                "provider_txn_id",
                "reason",
                pl.col("source_line").map_elements(
                    lambda ln: json.dumps(_mask_item(items[ln - 1], "", []), ensure_ascii=False), return_dtype=pl.Utf8
                ).alias("raw_text"),
            )
        )
    return ReadResult(transactions=conform(kept), quarantine=concat_quarantine(quarantine_parts), incidents=incidents)


def _bad(name: str, line: int, item: Any, reason: str) -> dict:
    txn_id = item.get("TransactionId") if isinstance(item, dict) else None
    return {
        "source_file": name,
        "source_line": line,
        "provider": "C",
        "provider_txn_id": txn_id if isinstance(txn_id, str) else None,
        "reason": reason,
        "raw_text": json.dumps(item, ensure_ascii=False),
    }


def read_balances(path: Path) -> ReadResult:
    """``ClosingBooked`` entries are the day's closing balances; a ``ClosingAvailable`` entry for the
    same account and day gives the available balance. Other types (Interim…, Expected…) are intraday
    and are not closing balances: they are skipped, not quarantined."""
    name = path.name
    items = _items(_load_json(path), "Balance", path)
    closing, available, bad, incidents = [], {}, [], []
    for i, raw_item in enumerate(items):
        line = i + 1
        hits: list[tuple[str, str]] = []
        item = _mask_item(raw_item, "", hits)
        incidents.extend(Incident(name, line, f, d) for f, d in hits)
        try:
            if not isinstance(item, dict):
                raise ItemError("the item is not a JSON object")
            kind = item.get("Type")
            if kind not in ("ClosingBooked", "ClosingAvailable"):
                continue
            if not isinstance(item.get("AccountId"), str) or not item["AccountId"].strip():
                raise ItemError("AccountId is missing")
            pence = _signed(item, "")
            day = _instant(item.get("DateTime"), "DateTime").astimezone(LONDON).date()
        except ItemError as exc:
            bad.append(_bad(name, line, item, str(exc)))
            continue
        key = (item["AccountId"].strip(), day)
        if kind == "ClosingAvailable":
            available[key] = pence
        else:
            closing.append({"account_id": key[0], "balance_date": day, "closing_balance_pence": pence, "source_line": line})
    frame = pl.DataFrame(
        [
            {
                "provider": "C",
                **row,
                "available_balance_pence": available.get((row["account_id"], row["balance_date"])),
                "source_file": name,
            }
            for row in closing
        ],
        schema=BALANCE_SCHEMA,
    )
    frame, conflicts = balance_repeats(frame)
    quarantine = [pl.DataFrame(bad, schema=QUARANTINE_SCHEMA)]
    if conflicts.height:
        quarantine.append(
            conflicts.select(
                "source_file",
                "source_line",
                "provider",
                pl.lit(None, dtype=pl.Utf8).alias("provider_txn_id"),
                "reason",
                pl.col("source_line").map_elements(
                    lambda ln: json.dumps(_mask_item(items[ln - 1], "", []), ensure_ascii=False), return_dtype=pl.Utf8
                ).alias("raw_text"),
            )
        )
    return ReadResult(balances=frame, quarantine=concat_quarantine(quarantine), incidents=incidents)
