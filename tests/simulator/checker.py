"""A small, independent reader of the simulator's output, for tests only.

Why not feeds.readers: the tests must check the simulator against FEEDS.md on their own, so a
mistake shared by simulator and reader cannot hide. This reads just enough: settled items (with
their posting day and signed pence), card-level facts for screening checks, and closing balances.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
NAME = re.compile(r"^([ABC])_(transactions|events|balances)_(\d{8})\.(csv|jsonl|json)$")
B_IN = {"gpa.credit", "transfer.in", "refund", "chargeback.credit", "adjustment.credit"}


def pence(text: str) -> int:
    t = text.replace(",", "").replace("£", "").strip()
    return int(Decimal(t) * 100)


def decode_a(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252")


@dataclass
class Txn:
    provider: str
    txn_id: str
    account: str
    status: str  # settled / pending / other
    amount_pence: int  # signed
    occurred_london: dt.datetime
    posted: dt.date | None
    kind: str
    mcc: str | None = None
    country: str | None = None
    cp_sort: str | None = None
    cp_account: str | None = None
    reference: str | None = None
    related: str | None = None


@dataclass
class Feed:
    files: dict[tuple[str, str, dt.date], Path] = field(default_factory=dict)
    txns: list[Txn] = field(default_factory=list)
    balances: dict[tuple[str, str, dt.date], int] = field(default_factory=dict)

    def settled(self) -> dict[tuple[str, str], Txn]:
        """Each settled item once (by provider id), the same facts every time it is seen."""
        out: dict[tuple[str, str], Txn] = {}
        for t in self.txns:
            if t.status != "settled":
                continue
            key = (t.provider, t.txn_id)
            if key in out:
                prev = out[key]
                assert (prev.amount_pence, prev.posted, prev.account) == (t.amount_pence, t.posted, t.account), key
            out[key] = t
        return out


def read_tree(root: Path) -> Feed:
    feed = Feed()
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for f in sorted(folder.iterdir()):
            m = NAME.match(f.name)
            if not m:
                continue
            key = (m.group(1), "balances" if m.group(2) == "balances" else "transactions",
                   dt.datetime.strptime(m.group(3), "%Y%m%d").date())
            assert key not in feed.files, f"{f.name} appears twice"
            feed.files[key] = f
    for (provider, kind, _day), path in sorted(feed.files.items()):
        reader = {("A", "transactions"): _a_txns, ("A", "balances"): _a_bal, ("B", "transactions"): _b_txns,
                  ("B", "balances"): _b_bal, ("C", "transactions"): _c_txns, ("C", "balances"): _c_bal}[(provider, kind)]
        reader(path, feed)
    return feed


def _a_txns(path: Path, feed: Feed) -> None:
    rows = list(csv.DictReader(io.StringIO(decode_a(path.read_bytes()), newline="")))
    for r in rows:
        amount = pence(r["Money In"]) if r["Money In"] else -pence(r["Money Out"])
        status = {"SETTLED": "settled", "PENDING": "pending"}.get(r["Status"], "other")
        feed.txns.append(Txn(
            "A", r["Transaction ID"], r["Account Number"], status, amount,
            dt.datetime.strptime(r["Transaction Date"], "%d/%m/%Y %H:%M:%S"),
            dt.datetime.strptime(r["Posted Date"], "%d/%m/%Y").date() if r["Posted Date"] else None,
            r["Type"], r["MCC"] or None, None, r["Payee Sort Code"] or None, r["Payee Account Number"] or None,
            r["Reference"] or None, r["Related Transaction ID"] or None,
        ))


def _a_bal(path: Path, feed: Feed) -> None:
    for r in csv.DictReader(io.StringIO(decode_a(path.read_bytes()), newline="")):
        day = dt.datetime.strptime(r["Balance Date"], "%d/%m/%Y").date()
        feed.balances[("A", r["Account Number"], day)] = pence(r["Closing Balance"])


def _london(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(LONDON).replace(tzinfo=None)


def _b_txns(path: Path, feed: Feed) -> None:
    for line in path.read_text(encoding="utf-8").splitlines():
        e = json.loads(line)
        sign = 1 if e["type"] in B_IN else -1
        status = "settled" if e["state"] == "COMPLETION" else ("pending" if e["state"] == "PENDING" else "other")
        acc = e["card_acceptor"] or {}
        cp = e["counterparty"] or {}
        feed.txns.append(Txn(
            "B", e["token"], e["card_token"], status, sign * e["amount_minor"], _london(e["created_time"]),
            dt.date.fromisoformat(e["settlement_date"]) if e["settlement_date"] else None, e["type"],
            acc.get("mcc"), acc.get("country_code"), cp.get("sort_code"), cp.get("account_number"),
            e["memo"] or None, e["preceding_related_token"],
        ))


def _b_bal(path: Path, feed: Feed) -> None:
    for line in path.read_text(encoding="utf-8").splitlines():
        e = json.loads(line)
        feed.balances[("B", e["card_token"], dt.date.fromisoformat(e["as_of_date"]))] = e["ledger_balance_minor"]


def _c_txns(path: Path, feed: Feed) -> None:
    body = json.loads(path.read_text(encoding="utf-8"))
    for e in body["Data"]["Transaction"]:
        sign = 1 if e["CreditDebitIndicator"] == "Credit" else -1
        booked = e["Status"] == "Booked"
        cp = e.get("CreditorAccount") or e.get("DebtorAccount") or {}
        ident = cp.get("Identification", "")
        feed.txns.append(Txn(
            "C", e["TransactionId"], e["AccountId"], "settled" if booked else "pending",
            sign * pence(e["Amount"]["Amount"]), _london(e.get("ValueDateTime") or e["BookingDateTime"]),
            _london(e["BookingDateTime"]).date() if booked else None, e["ProprietaryBankTransactionCode"]["Code"],
            (e.get("MerchantDetails") or {}).get("MerchantCategoryCode"), None, ident[:6] or None, ident[6:] or None,
            e.get("TransactionReference"), (e.get("SupplementaryData") or {}).get("RelatedTransactionId"),
        ))


def _c_bal(path: Path, feed: Feed) -> None:
    body = json.loads(path.read_text(encoding="utf-8"))
    for b in body["Data"]["Balance"]:
        if b["Type"] != "ClosingBooked":
            continue
        sign = 1 if b["CreditDebitIndicator"] == "Credit" else -1
        feed.balances[("C", b["AccountId"], _london(b["DateTime"]).date())] = sign * pence(b["Amount"]["Amount"])


def balance_differences(feed: Feed) -> tuple[dict[tuple[str, str, dt.date], int], int]:
    """(provider, account, day) -> closing − (take-on + settled items to that day), where non-zero,
    and the number of balance rows checked. Take-on is read off each card's first balance."""
    postings: dict[tuple[str, str], list[tuple[dt.date, int]]] = defaultdict(list)
    for t in feed.settled().values():
        postings[(t.provider, t.account)].append((t.posted, t.amount_pence))
    by_card: dict[tuple[str, str], list[tuple[dt.date, int]]] = defaultdict(list)
    for (p, a, day), closing in feed.balances.items():
        by_card[(p, a)].append((day, closing))
    diffs: dict[tuple[str, str, dt.date], int] = {}
    checked = 0
    for card, rows in by_card.items():
        rows.sort()
        items = sorted(postings.get(card, []))

        def settled_to(day: dt.date, items=items) -> int:
            return sum(a for d, a in items if d <= day)

        take_on = rows[0][1] - settled_to(rows[0][0])
        for day, closing in rows[1:]:
            checked += 1
            diff = closing - (take_on + settled_to(day))
            if diff:
                diffs[(card[0], card[1], day)] = diff
    return diffs, checked
