"""Turning items into the providers' files and the council's extract, exactly as FEEDS.md describes.

Provider A: portal CSV (CRLF, header, ``1,234.56`` amounts, sometimes ``£``, dd/mm/yyyy London times,
some days Windows-1252 or with a BOM); pending rows repeat daily until SETTLED or REVERSED.
Provider B: JSON lines, one event each, UTC times, at-least-once (some events repeated).
Provider C: Open Banking OBReadTransaction6 / OBReadBalance1 bodies.

Also computes each card's running balance and daily closing/available balance from the items, so
a clean simulation ties to the penny: closing = take-on + every item posted up to that London day.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

from simulator.days import DAY
from simulator.model import Client, Item
from simulator.population import Population

LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC
A_HEADER = (
    "Account Number,Transaction ID,Transaction Date,Posted Date,Type,Description,Merchant Name,MCC,Money In,"
    "Money Out,Balance,Status,Related Transaction ID,Payee Name,Payee Sort Code,Payee Account Number,Reference"
)
A_BALANCE_HEADER = "Account Number,Balance Date,Closing Balance,Available Balance"
BOM = "\ufeff".encode()
C_ISSUER = "CardProviderC"
C_BASE = "https://api.provider-c.example/open-banking/v3.1/aisp"

# --------------------------------------------------------------------------- ids and balances


def assign_ids(pop: Population, items: list[Item]) -> None:
    """Provider ids in time order: A Transaction IDs, C TransactionIds, B event tokens."""
    code = pop.council.code
    rng = random.Random(f"careledger-sim:{pop.seed}:{pop.council.name}:ids")
    seen: set[str] = set()

    def token() -> str:
        while True:
            t = f"b-{rng.getrandbits(48):012x}"
            if t not in seen:
                seen.add(t)
                return t

    na = nc = 0
    for it in sorted(items, key=lambda i: (i.at, i.client.idx, i.seq)):
        p = it.client.provider
        if p == "A":
            na += 1
            it.txn_id = f"A{code}{na:07d}"
        elif p == "C":
            nc += 1
            it.txn_id = f"T{code}{nc:08d}"
        elif it.kind == "purchase":
            if not it.forcepost:
                it.b_auth = token()
            if it.posts:
                it.b_final = token()
            if it.state in ("released", "cancelled"):
                it.b_end = token()
        elif it.kind == "cash":
            if it.atm_auth:
                it.b_auth = token()
            it.b_final = token()
        else:
            it.b_final = token()


def evidence_ids(it: Item) -> list[str]:
    p = it.client.provider
    if p == "B":
        return [f"B:{t}" for t in (it.b_auth, it.b_final) if t]
    return [f"{p}:{it.txn_id}"]


def _holds(it: Item) -> tuple[dt.date, dt.date | None] | None:
    """London days a debit hold is open at day end: [from, to) — None if the item never holds."""
    if it.sign > 0 or it.kind != "purchase" or it.forcepost:
        return None
    if it.state == "pending":
        return it.at.date(), it.settle_at.date() if it.settle_at else None
    if it.state in ("released", "cancelled"):
        return it.at.date(), it.end_at.date() if it.end_at else None
    return None


def compute_balances(pop: Population, items: list[Item]) -> dict[tuple[str, dt.date], list[tuple[Client, int, int]]]:
    """Running balance on every posted item and each open card's (closing, available) per London day."""
    by_client: dict[int, list[Item]] = defaultdict(list)
    for it in items:
        by_client[it.client.idx].append(it)
    out: dict[tuple[str, dt.date], list[tuple[Client, int, int]]] = defaultdict(list)
    for c in pop.clients:
        its = by_client.get(c.idx, [])
        posting = sorted((it for it in its if it.posts), key=lambda i: (i.settle_at, i.seq))
        held: dict[dt.date, int] = defaultdict(int)
        for it in its:
            span = _holds(it)
            if span:
                d, until = span
                while d <= pop.end and (until is None or d < until):
                    held[d] += it.amount_pence
                    d += DAY
        bal = c.take_on_pence if c.opened < pop.start else 0
        first = max(pop.start, c.opened)
        last = min(pop.end, c.closed) if c.closed else pop.end
        j = 0
        day = first
        while day <= last:
            while j < len(posting) and posting[j].settle_at.date() <= day:
                it = posting[j]
                bal += it.sign * it.settle_pence
                it.balance_after_pence = bal
                j += 1
            out[(c.provider, day)].append((c, bal, bal - held.get(day, 0)))
            day += DAY
        while j < len(posting):  # posted after the period: balance still defined, never written
            it = posting[j]
            bal += it.sign * it.settle_pence
            it.balance_after_pence = bal
            j += 1
    return out


# --------------------------------------------------------------------------- formatting


def money(pence: int, pound: bool = False) -> str:
    sign = "-" if pence < 0 else ""
    p = abs(pence)
    return f"{sign}{'£' if pound else ''}{p // 100:,}.{p % 100:02d}"


def plain(pence: int) -> str:
    sign = "-" if pence < 0 else ""
    p = abs(pence)
    return f"{sign}{p // 100}.{p % 100:02d}"


def csvq(s: str) -> str:
    if any(ch in s for ch in ',"\r\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


def utc_iso(local: dt.datetime) -> str:
    return local.replace(tzinfo=LONDON).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def offset_iso(local: dt.datetime) -> str:
    return local.replace(tzinfo=LONDON).isoformat(timespec="seconds")


def _end_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 23, 59, 59)


# --------------------------------------------------------------------------- provider A


def _a_appearances(it: Item, start: dt.date, end: dt.date):
    """(day, status, event_time) for every daily file the item appears in."""
    out = []
    if it.state == "declined":
        out.append((it.at.date(), "DECLINED", it.at))
    elif it.state == "settled":
        out.append((it.settle_at.date(), "SETTLED", it.settle_at))
    else:
        until = it.settle_at if it.state == "pending" else it.end_at
        d = it.at.date()
        stop = until.date() if until else end + DAY
        while d < stop and d <= end:
            out.append((d, "PENDING", it.at))
            d += DAY
        if until and until.date() <= end:
            out.append((until.date(), "SETTLED" if it.state == "pending" else "REVERSED", until))
    return [a for a in out if start <= a[0] <= end]


def a_rows_by_day(pop: Population, items: list[Item]) -> dict[dt.date, list[tuple]]:
    """Per London day: (sort key, item, status) for provider A's transactions file."""
    out: dict[dt.date, list[tuple]] = defaultdict(list)
    for it in items:
        if it.client.provider != "A":
            continue
        for day, status, when in _a_appearances(it, pop.start, pop.end):
            out[day].append(((it.client.account_id, when, it.txn_id), it, status))
    return out


def a_line(it: Item, status: str, pound: bool) -> str:
    settled = status == "SETTLED"
    pence = it.settle_pence if settled else it.amount_pence
    m = money(pence, pound)
    money_in, money_out = (m, "") if it.sign > 0 else ("", m)
    bank = it.kind in ("payment", "contribution", "other_in")
    fields = (
        it.client.account_id,
        it.txn_id,
        it.at.strftime("%d/%m/%Y %H:%M:%S"),
        it.settle_at.strftime("%d/%m/%Y") if settled else "",
        it.a_type,
        it.description,
        it.merchant or "",
        it.mcc or "",
        money_in,
        money_out,
        money(it.balance_after_pence) if settled and it.balance_after_pence is not None else "",
        status,
        it.related.txn_id if it.related else "",
        it.cp_name if bank else "",
        it.cp_sort_code if bank else "",
        it.cp_account if bank else "",
        it.reference if it.kind not in ("purchase", "refund", "reversal", "chargeback") else "",
    )
    return ",".join(csvq(f) for f in fields)


def encode_a(text: str, rng: random.Random) -> bytes:
    """UTF-8 (some days with a BOM) or, on some days whose file has a £ or an accent, Windows-1252."""
    if not text.isascii() and rng.random() < 0.4:
        try:
            return text.encode("cp1252")
        except UnicodeEncodeError:
            pass
    data = text.encode("utf-8")
    return BOM + data if rng.random() < 0.3 else data


def a_transactions_text(entries: list[tuple], pound: bool) -> str:
    lines = [A_HEADER]
    lines.extend(a_line(it, status, pound) for _k, it, status in sorted(entries, key=lambda e: e[0]))
    return "\r\n".join(lines) + "\r\n"


def a_balances_text(rows: list[tuple[Client, int, int]], day: dt.date) -> str:
    d = day.strftime("%d/%m/%Y")
    lines = [A_BALANCE_HEADER]
    for c, closing, available in sorted(rows, key=lambda r: r[0].account_id):
        lines.append(f"{c.account_id},{d},{csvq(money(closing))},{csvq(money(available))}")
    return "\r\n".join(lines) + "\r\n"


# --------------------------------------------------------------------------- provider B


def _acceptor(it: Item) -> dict | None:
    src = it.related if it.kind in ("refund", "chargeback", "reversal") and it.related else it
    if src.mcc is None:
        return None
    return {"mcc": src.mcc, "name": src.merchant, "city": src.city, "country_code": src.country}


def _b_event(it: Item, token: str, etype: str, state: str, pence: int, when: dt.datetime, *, settled: bool,
             preceding: str | None, acceptor: dict | None, counterparty: dict | None, memo: str) -> dict:
    return {
        "token": token,
        "card_token": it.client.account_id,
        "type": etype,
        "state": state,
        "amount_minor": pence,
        "currency": "GBP",
        "created_time": utc_iso(when),
        "settlement_date": when.date().isoformat() if settled else None,
        "preceding_related_token": preceding,
        "card_acceptor": acceptor,
        "counterparty": counterparty,
        "memo": memo,
        "balance_after_minor": it.balance_after_pence if settled else None,
    }


B_TYPES = {
    "load": "gpa.credit", "unload": "gpa.debit", "contribution": "transfer.in", "other_in": "transfer.in",
    "payment": "transfer.out", "refund": "refund", "fee": "fee.charge", "chargeback": "chargeback.credit",
    "reversal": "adjustment.credit",
}


def b_events_of(it: Item) -> list[tuple[dt.datetime, dict]]:
    """The item's events, each with its London time (the file it belongs to)."""
    out: list[tuple[dt.datetime, dict]] = []
    if it.kind == "purchase":
        acc = _acceptor(it)
        if it.b_auth:
            state = "DECLINED" if it.state == "declined" else "PENDING"
            out.append((it.at, _b_event(it, it.b_auth, "authorization", state, it.amount_pence, it.at, settled=False,
                                        preceding=None, acceptor=acc, counterparty=None, memo="")))
        if it.b_final and it.settle_at:
            out.append((it.settle_at, _b_event(it, it.b_final, "authorization.clearing", "COMPLETION", it.settle_pence,
                                               it.settle_at, settled=True, preceding=it.b_auth, acceptor=acc,
                                               counterparty=None, memo="")))
        if it.b_end and it.end_at:
            etype = "authorization.reversal" if it.state == "cancelled" else "authorization.release"
            out.append((it.end_at, _b_event(it, it.b_end, etype, "CLEARED", it.amount_pence, it.end_at, settled=False,
                                            preceding=it.b_auth, acceptor=acc, counterparty=None, memo="")))
        return out
    if it.kind == "cash":
        acc = _acceptor(it)
        if it.b_auth:
            out.append((it.at, _b_event(it, it.b_auth, "authorization", "PENDING", it.amount_pence, it.at, settled=False,
                                        preceding=None, acceptor=acc, counterparty=None, memo="")))
        when = it.at + dt.timedelta(seconds=1) if it.b_auth else it.at
        out.append((when, _b_event(it, it.b_final, "pindebit.atm", "COMPLETION", it.settle_pence, when, settled=True,
                                   preceding=it.b_auth, acceptor=acc, counterparty=None, memo="")))
        return out
    if it.kind == "adjustment":
        etype = "adjustment.credit" if it.sign > 0 else "adjustment.debit"
    else:
        etype = B_TYPES[it.kind]
    cp = None
    if it.cp_name:
        cp = {"name": it.cp_name, "sort_code": it.cp_sort_code, "account_number": it.cp_account}
    preceding = it.related.b_final if it.related else None
    memo = it.reference
    out.append((it.settle_at, _b_event(it, it.b_final, etype, "COMPLETION", it.settle_pence, it.settle_at, settled=True,
                                       preceding=preceding, acceptor=_acceptor(it), counterparty=cp, memo=memo)))
    return out


def b_events_by_day(pop: Population, items: list[Item]) -> dict[dt.date, list[tuple[str, int, dict]]]:
    out: dict[dt.date, list[tuple[str, int, dict]]] = defaultdict(list)
    for it in items:
        if it.client.provider != "B":
            continue
        for k, (when, ev) in enumerate(b_events_of(it)):
            if pop.start <= when.date() <= pop.end:
                out[when.date()].append((ev["created_time"], it.client.idx * 1_000_000 + it.seq * 4 + k, ev))
    return out


def jdump(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def b_balances_text(rows: list[tuple[Client, int, int]], day: dt.date) -> str:
    iso = day.isoformat()
    return "".join(
        jdump({"card_token": c.account_id, "as_of_date": iso, "ledger_balance_minor": closing,
               "available_balance_minor": available}) + "\n"
        for c, closing, available in sorted(rows, key=lambda r: r[0].account_id)
    )


# --------------------------------------------------------------------------- provider C

C_CODES = {
    "LOAD": ("ReceivedCreditTransfer", "DomesticCreditTransfer"),
    "FPS_IN": ("ReceivedCreditTransfer", "DomesticCreditTransfer"),
    "SO_IN": ("ReceivedCreditTransfer", "StandingOrder"),
    "UNLOAD": ("IssuedCreditTransfer", "DomesticCreditTransfer"),
    "FPS_OUT": ("IssuedCreditTransfer", "DomesticCreditTransfer"),
    "BACS": ("IssuedCreditTransfer", "DomesticCreditTransfer"),
    "SO": ("IssuedCreditTransfer", "StandingOrder"),
    "DD": ("IssuedDirectDebits", "DirectDebitPayment"),
    "POS": ("CustomerCardTransactions", "PointOfSalePaymentDebitCard"),
    "ECOM": ("CustomerCardTransactions", "PointOfSalePaymentDebitCard"),
    "ATM": ("CustomerCardTransactions", "CashWithdrawal"),
    "REFUND": ("CustomerCardTransactions", "Refund"),
    "REVERSAL": ("CustomerCardTransactions", "Reversal"),
    "CHARGEBACK": ("CustomerCardTransactions", "Chargeback"),
    "FEE": ("MiscellaneousDebitOperations", "Fees"),
    "ADJUSTMENT": ("MiscellaneousCreditOperations", "Adjustments"),
}


def _c_amount(pence: int) -> dict:
    return {"Amount": plain(abs(pence)), "Currency": "GBP"}


def c_entry(it: Item, booked: bool) -> dict:
    pence = it.settle_pence if booked else it.amount_pence
    when = it.settle_at if booked else it.at
    e: dict = {"AccountId": it.client.account_id, "TransactionId": it.txn_id}
    if it.reference and it.kind not in ("purchase", "refund", "reversal", "chargeback"):
        e["TransactionReference"] = it.reference
    e["CreditDebitIndicator"] = "Credit" if it.sign > 0 else "Debit"
    e["Status"] = "Booked" if booked else "Pending"
    e["BookingDateTime"] = offset_iso(when)
    e["ValueDateTime"] = offset_iso(it.at)
    info = it.merchant if it.mcc and it.kind in ("purchase", "cash") else it.description
    if it.kind in ("refund", "reversal", "chargeback") and it.related:
        info = f"{it.description} {it.related.merchant or ''}".strip()
    e["TransactionInformation"] = info
    e["Amount"] = _c_amount(pence)
    code, sub = C_CODES[it.a_type]
    e["BankTransactionCode"] = {"Code": code, "SubCode": sub}
    e["ProprietaryBankTransactionCode"] = {"Code": it.a_type, "Issuer": C_ISSUER}
    if booked and it.balance_after_pence is not None:
        b = it.balance_after_pence
        e["Balance"] = {"Amount": _c_amount(b), "CreditDebitIndicator": "Credit" if b >= 0 else "Debit",
                        "Type": "InterimBooked"}
    src = it.related if it.kind in ("refund", "reversal", "chargeback") and it.related else it
    if src.mcc:
        e["MerchantDetails"] = {"MerchantName": src.merchant, "MerchantCategoryCode": src.mcc}
    if it.cp_name:
        acct = {"SchemeName": "UK.OBIE.SortCodeAccountNumber", "Identification": f"{it.cp_sort_code}{it.cp_account}",
                "Name": it.cp_name}
        e["DebtorAccount" if it.sign > 0 else "CreditorAccount"] = acct
    if it.related:
        e["SupplementaryData"] = {"RelatedTransactionId": it.related.txn_id}
    return e


def c_entries_by_day(pop: Population, items: list[Item]) -> dict[dt.date, list[tuple[tuple, dict]]]:
    out: dict[dt.date, list[tuple[tuple, dict]]] = defaultdict(list)
    for it in items:
        if it.client.provider != "C" or it.state == "declined":
            continue
        if it.state == "settled":
            d = it.settle_at.date()
            if pop.start <= d <= pop.end:
                out[d].append(((it.settle_at, it.txn_id), c_entry(it, True)))
            continue
        until = it.settle_at if it.state == "pending" else it.end_at
        d = it.at.date()
        stop = until.date() if until else pop.end + DAY
        while d < stop and d <= pop.end:
            if d >= pop.start:
                out[d].append(((it.at, it.txn_id), c_entry(it, False)))
            d += DAY
        if it.state == "pending" and until and pop.start <= until.date() <= pop.end:
            out[until.date()].append(((until, it.txn_id), c_entry(it, True)))
    return out


def c_transactions_text(entries: list[tuple[tuple, dict]], day: dt.date) -> str:
    first = dt.datetime(day.year, day.month, day.day)
    body = {
        "Data": {"Transaction": [e for _k, e in sorted(entries, key=lambda x: x[0])]},
        "Links": {"Self": f"{C_BASE}/transactions?fromBookingDateTime={day}T00:00:00&toBookingDateTime={day}T23:59:59"},
        "Meta": {"TotalPages": 1, "FirstAvailableDateTime": offset_iso(first), "LastAvailableDateTime": offset_iso(_end_of_day(day))},
    }
    return json.dumps(body, ensure_ascii=False, indent=1) + "\n"


def c_balances_text(rows: list[tuple[Client, int, int]], day: dt.date) -> str:
    when = offset_iso(_end_of_day(day))
    balances = []
    for c, closing, available in sorted(rows, key=lambda r: r[0].account_id):
        for kind, pence in (("ClosingBooked", closing), ("ClosingAvailable", available)):
            balances.append({
                "AccountId": c.account_id,
                "Amount": _c_amount(pence),
                "CreditDebitIndicator": "Credit" if pence >= 0 else "Debit",
                "Type": kind,
                "DateTime": when,
            })
    body = {"Data": {"Balance": balances}, "Links": {"Self": f"{C_BASE}/balances"}, "Meta": {"TotalPages": 1}}
    return json.dumps(body, ensure_ascii=False, indent=1) + "\n"


# --------------------------------------------------------------------------- council extract


def councils_yaml(pop: Population) -> str:
    c = pop.council
    groups = ", ".join(c.restricted_groups)
    return (
        "councils:\n"
        f"  - name: {json.dumps(c.name, ensure_ascii=False)}\n"
        f"    funding_account: {{sort_code: \"{c.funding_sort_code}\", account_number: \"{c.funding_account}\"}}\n"
        "    default_contingency_weeks: 6\n"
        f"    starter_float_weeks: {c.starter_float_weeks}\n"
        "    clawback_minimum: 50.00\n"
        "    clawback_weekday: Wednesday\n"
        f"    restricted_mcc_groups: [{groups}]\n"
        f"    cash: {{allowed_by_default: false, daily_atm_limit: {plain(c.daily_atm_limit_pence)}}}\n"
        f"    safeguarding_mailbox: safeguarding@{c.slug}.example\n"
        f"    finance_mailbox: dp-finance@{c.slug}.example\n"
        "    thresholds: {}\n"
    )


def _d(day: dt.date | None) -> str:
    return day.isoformat() if day else ""


def _line(*fields: str) -> str:
    return ",".join(csvq(f) for f in fields)


class Extract:
    """The council's nightly full-state extract, as known on a given day."""

    HEADERS = {
        "cardholders.csv": "client_id,council,provider,account_id,opened,closed,weekly_budget,contingency_weeks,"
                           "cash_allowed,cash_weekly_limit,contribution_model,team,safeguarding_email",
        "payees.csv": "client_id,payee_name,sort_code,account_number,kind,approved_from,approved_to",
        "contributions.csv": "client_id,weekly_amount,effective_from,effective_to,reference",
        "load_schedule.csv": "client_id,due_date,amount,reference",
        "client_events.csv": "client_id,event,date",
        "commitments.csv": "client_id,due_date,amount,description",
    }

    def __init__(self, pop: Population):
        self.pop = pop
        # (known_from, known_until or None, text) per file; text may depend on the day via a pair
        self.rows: dict[str, list[tuple[dt.date, dt.date | None, str, str | None, dt.date | None]]] = {
            k: [] for k in self.HEADERS
        }
        council = pop.council.name
        for c in pop.clients:
            base = [c.client_id, council, c.provider, c.account_id, _d(c.opened)]
            tail = [plain(c.weekly_budget_pence), str(c.contingency_weeks or ""), "Y" if c.cash_allowed else "N",
                    plain(c.cash_weekly_limit_pence) if c.cash_weekly_limit_pence is not None else "", c.model,
                    c.team, c.safeguarding_email]
            self._add("cardholders.csv", c.known_from, None, _line(*base, "", *tail),
                      _line(*base, _d(c.closed), *tail) if c.closed else None, c.closed_known)
            for p in c.payees:
                head = [c.client_id, p.name, p.sort_code, p.account_number, p.kind, _d(p.approved_from)]
                if p.approved_to is not None and p.to_known_from is not None:
                    self._add("payees.csv", p.known_from, None, _line(*head, ""), _line(*head, _d(p.approved_to)),
                              p.to_known_from)
                else:
                    self._add("payees.csv", p.known_from, None, _line(*head, _d(p.approved_to)))
            for r in c.contributions:
                head = [c.client_id, plain(r.weekly_pence), _d(r.effective_from)]
                if r.effective_to is not None and r.to_known_from is not None:
                    self._add("contributions.csv", r.known_from, None, _line(*head, "", r.reference),
                              _line(*head, _d(r.effective_to), r.reference), r.to_known_from)
                else:
                    self._add("contributions.csv", r.known_from, None, _line(*head, _d(r.effective_to), r.reference))
            for due, pence, ref, known in c.schedule:
                self._add("load_schedule.csv", known, None, _line(c.client_id, _d(due), plain(pence), ref))
            for event, day in sorted(c.events, key=lambda e: (e[1], e[0])):
                self._add("client_events.csv", day, None, _line(c.client_id, event, _d(day)))
            for due, pence, desc, known in c.commitments:
                self._add("commitments.csv", known, due, _line(c.client_id, _d(due), plain(pence), desc))

    def _add(self, name: str, known: dt.date, until: dt.date | None, text: str, later: str | None = None,
             later_from: dt.date | None = None) -> None:
        self.rows[name].append((known, until, text, later, later_from))

    def text(self, name: str, day: dt.date) -> str:
        lines = [self.HEADERS[name]]
        for known, until, text, later, later_from in self.rows[name]:
            if known > day or (until is not None and day > until):
                continue
            lines.append(later if later is not None and later_from is not None and later_from <= day else text)
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- writing


def _with_discrepancies(pop: Population, balances: dict) -> dict:
    """The planted balance_discrepancy cases: that day's closing and available balance moved by delta."""
    for c, day, delta in pop.discrepancies:
        rows = balances[(c.provider, day)]
        for k, (cc, closing, available) in enumerate(rows):
            if cc is c:
                rows[k] = (cc, closing + delta, available + delta)
    return balances


def _a_transactions(a_by_day: dict, day: dt.date, repeat_missing: bool, rng: random.Random) -> bytes:
    """Provider A's file for a day (the day after a missing file repeats what it held), ~25 % with £."""
    entries = list(a_by_day.get(day, []))
    if repeat_missing:
        ids = {e[1].txn_id for e in entries}
        entries += [e for e in a_by_day.get(day - DAY, []) if e[2] != "PENDING" and e[1].txn_id not in ids]
    pound = rng.random() < 0.25
    return encode_a(a_transactions_text(entries, pound), rng)


def _b_lines(b_by_day: dict, day: dt.date, repeat_missing: bool, rng: random.Random) -> tuple[list[str], list[str]]:
    """Provider B's event lines for a day, some repeated later in the file (at-least-once delivery), and
    those to repeat in the next day's file."""
    evs = sorted(b_by_day.get(day, []), key=lambda e: (e[0], e[1]))
    if repeat_missing:
        evs = sorted(b_by_day.get(day - DAY, []), key=lambda e: (e[0], e[1])) + evs
    lines = [jdump(ev) for _t, _k, ev in evs]
    for k in range(len(lines)):
        if rng.random() < 0.01:  # repeated later in the same file
            pos = rng.randrange(k, len(lines)) + 1
            lines.insert(pos, lines[k])
    carry_next = [ln for ln in lines if rng.random() < 0.005]
    return lines, carry_next


def _c_transactions(c_by_day: dict, day: dt.date, repeat_missing: bool) -> bytes:
    ents = list(c_by_day.get(day, []))
    if repeat_missing:
        ids = {e[1]["TransactionId"] for e in ents}
        ents += [e for e in c_by_day.get(day - DAY, []) if e[1]["Status"] == "Booked" and e[1]["TransactionId"] not in ids]
    return c_transactions_text(ents, day).encode("utf-8")


def write_drops(pop: Population, items: list[Item], out: Path, progress=None) -> tuple[list[Path], dict]:
    """Write one drop folder per day; returns the folders and the balance table (for tests/docs)."""
    rng = random.Random(f"careledger-sim:{pop.seed}:{pop.council.name}:render")
    balances = _with_discrepancies(pop, compute_balances(pop, items))
    a_by_day = a_rows_by_day(pop, items)
    b_by_day = b_events_by_day(pop, items)
    c_by_day = c_entries_by_day(pop, items)
    late = {(p, d) for rule, p, d in pop.file_cases if rule == "late_file"}
    missing = {(p, d) for rule, p, d in pop.file_cases if rule == "missing_file"}
    extract = Extract(pop)
    yaml_text = councils_yaml(pop)
    drops: list[Path] = []
    pending_late: dict[dt.date, list[tuple[str, bytes]]] = defaultdict(list)
    b_carry: list[str] = []  # events repeated in the next day's file (at-least-once delivery)
    for d in range(pop.days):
        day = pop.start + d * DAY
        folder = out / day.strftime("%Y%m%d")
        folder.mkdir(parents=True, exist_ok=True)
        drops.append(folder)
        for name in Extract.HEADERS:
            (folder / name).write_bytes(extract.text(name, day).encode("utf-8"))
        (folder / "councils.yaml").write_bytes(yaml_text.encode("utf-8"))
        stamp = day.strftime("%Y%m%d")
        files: dict[str, bytes] = {}
        files[f"A_transactions_{stamp}.csv"] = _a_transactions(a_by_day, day, ("A", day - DAY) in missing, rng)
        files[f"A_balances_{stamp}.csv"] = a_balances_text(balances.get(("A", day), []), day).encode("utf-8")
        lines, carry_next = _b_lines(b_by_day, day, ("B", day - DAY) in missing, rng)
        lines, b_carry = b_carry + lines, carry_next
        files[f"B_events_{stamp}.jsonl"] = "".join(ln + "\n" for ln in lines).encode("utf-8")
        files[f"B_balances_{stamp}.jsonl"] = b_balances_text(balances.get(("B", day), []), day).encode("utf-8")
        files[f"C_transactions_{stamp}.json"] = _c_transactions(c_by_day, day, ("C", day - DAY) in missing)
        files[f"C_balances_{stamp}.json"] = c_balances_text(balances.get(("C", day), []), day).encode("utf-8")
        for name, data in files.items():
            provider = name[0]
            if (provider, day) in missing:
                continue
            if (provider, day) in late:
                pending_late[day + DAY].append((name, data))
                continue
            (folder / name).write_bytes(data)
        for name, data in pending_late.pop(day, []):
            (folder / name).write_bytes(data)
        if progress:
            progress(f"wrote {folder.name}")
    return drops, balances
