"""Hand-written provider files for reader tests (FEEDS.md formats, edge cases written out by hand)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.ingest.drops import A_HEADER

A_BALANCE_HEADER = "Account Number,Balance Date,Closing Balance,Available Balance"


def write_a(folder: Path, rows: list[str], *, day: str = "20260302", encoding: str = "utf-8", bom: bool = False,
            header: str = A_HEADER, name: str | None = None) -> Path:
    """An A transactions file with CRLF line ends in the given encoding."""
    path = folder / (name or f"A_transactions_{day}.csv")
    body = ("\r\n".join([header, *rows]) + "\r\n").encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + body)
    return path


def a_row(txn_id: str, when: str, typ: str = "POS", money_in: str = "", money_out: str = "12.49", *,
          status: str = "SETTLED", posted: str = "", account: str = "10442817", description: str = "Card purchase",
          merchant: str = "BOOTS 1123", mcc: str = "5912", balance: str = "", related: str = "",
          payee: str = "", sort_code: str = "", payee_account: str = "", reference: str = "") -> str:
    fields = [account, txn_id, when, posted, typ, description, merchant, mcc, money_in, money_out, balance, status,
              related, payee, sort_code, payee_account, reference]
    return ",".join(f'"{f}"' if "," in f else f for f in fields)


def b_line(token: str, etype: str, state: str, pence, created: str = "2026-03-02T10:00:00Z", *, card: str = "ct_19a0",
           settlement: str | None = None, related: str | None = None, mcc: str | None = "5411", currency: str = "GBP",
           memo: str = "", balance: int | None = None, counterparty: dict | None = None, country: str = "GBR") -> str:
    acceptor = {"mcc": mcc, "name": "TESCO STORES 2041", "city": "SALFORD", "country_code": country} if mcc else None
    return json.dumps({
        "token": token, "card_token": card, "type": etype, "state": state, "amount_minor": pence, "currency": currency,
        "created_time": created, "settlement_date": settlement, "preceding_related_token": related,
        "card_acceptor": acceptor, "counterparty": counterparty, "memo": memo, "balance_after_minor": balance,
    })


def write_b(folder: Path, lines: list[str], *, day: str = "20260302", final_newline: bool = True) -> Path:
    path = folder / f"B_events_{day}.jsonl"
    path.write_text("\n".join(lines) + ("\n" if final_newline else ""), encoding="utf-8")
    return path


def write_c(folder: Path, transactions: list, *, day: str = "20260302") -> Path:
    path = folder / f"C_transactions_{day}.json"
    path.write_text(json.dumps({"Data": {"Transaction": transactions}, "Links": {"Self": "x"}, "Meta": {"TotalPages": 1}},
                               indent=2), encoding="utf-8")
    return path


def c_txn(txn_id: str, amount: str, indicator: str = "Debit", *, status: str = "Booked", account: str = "acc-001",
          booked: str = "2026-03-02T10:00:00+00:00", mcc: str | None = None, merchant: str | None = None,
          creditor: tuple[str, str, str] | None = None, debtor: tuple[str, str, str] | None = None,
          info: str = "", reference: str | None = None, currency: str = "GBP", code: str | None = None) -> dict:
    item: dict = {
        "AccountId": account, "TransactionId": txn_id, "Amount": {"Amount": amount, "Currency": currency},
        "CreditDebitIndicator": indicator, "Status": status, "BookingDateTime": booked, "ValueDateTime": booked,
        "TransactionInformation": info,
    }
    if reference is not None:
        item["TransactionReference"] = reference
    if mcc or merchant:
        item["MerchantDetails"] = {k: v for k, v in (("MerchantName", merchant), ("MerchantCategoryCode", mcc)) if v}
    for key, acct in (("CreditorAccount", creditor), ("DebtorAccount", debtor)):
        if acct:
            item[key] = {"SchemeName": acct[0], "Identification": acct[1], "Name": acct[2]}
    if code:
        item["ProprietaryBankTransactionCode"] = {"Code": code, "Issuer": "CBank"}
    return item
