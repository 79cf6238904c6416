"""Hand-written drop folders in the FEEDS.md formats, for ingest tests (not the simulator's output)."""

from __future__ import annotations

import json
from pathlib import Path

COUNCILS_YAML = """councils:
  - name: Testshire
    funding_account: {sort_code: "401122", account_number: "90001234"}
    default_contingency_weeks: 6
    starter_float_weeks: 8
    clawback_minimum: 50.00
    clawback_weekday: Wednesday
    restricted_mcc_groups: [alcohol, tobacco, gambling, adult, pawn, quasi_cash, money_transfer]
    cash: {allowed_by_default: false, daily_atm_limit: 250.00}
    safeguarding_mailbox: safeguarding@testshire.example
    finance_mailbox: dp-finance@testshire.example
    thresholds: {}
"""

CARDHOLDERS = (
    "client_id,council,provider,account_id,opened,closed,weekly_budget,contingency_weeks,cash_allowed,"
    "cash_weekly_limit,contribution_model,team,safeguarding_email\n"
    "C0442817,Testshire,A,10442817,2025-01-06,,280.00,,N,,net,North,lead.north@testshire.example\n"
    "C0019,Testshire,B,ct_19a0,2025-02-03,,150.00,6,Y,50.00,none,South,\n"
)
PAYEES = (
    "client_id,payee_name,sort_code,account_number,kind,approved_from,approved_to\n"
    "C0442817,MARY JONES,402715,87654321,personal_assistant,2025-01-06,\n"
)
CONTRIBUTIONS = (
    "client_id,weekly_amount,effective_from,effective_to,reference\nC0442817,35.33,2025-01-06,,CONTRIB 0442817\n"
)
LOADS = "client_id,due_date,amount,reference\nC0442817,2026-03-02,1120.00,DP-0442817-2026-03\n"
EVENTS = "client_id,event,date\n"
COMMITMENTS = "client_id,due_date,amount,description\n"

A_HEADER = (
    "Account Number,Transaction ID,Transaction Date,Posted Date,Type,Description,Merchant Name,MCC,Money In,"
    "Money Out,Balance,Status,Related Transaction ID,Payee Name,Payee Sort Code,Payee Account Number,Reference"
)
# FEEDS.md's own example rows (day 1), then day 2 repeats the pending item as SETTLED for another amount.
A_DAY1 = [
    '10442817,A9000001,02/03/2026 09:15:02,02/03/2026,LOAD,Council load,,,"1,120.00",,"1,310.55",SETTLED,,,,,DP-0442817-2026-03',
    "10442817,A9000002,02/03/2026 11:40:37,02/03/2026,SO_IN,Standing order,,,35.33,,\"1,345.88\",SETTLED,,J SMITH,309634,12345678,CONTRIB 0442817",
    "10442817,A9000003,02/03/2026 18:02:11,,POS,Card purchase,BOOTS 1123,5912,,12.49,,PENDING,,,,,",
]
A_DAY2 = [
    "10442817,A9000003,02/03/2026 18:02:11,03/03/2026,POS,Card purchase,BOOTS 1123,5912,,12.30,\"1,333.58\",SETTLED,,,,,",
    "10442817,A9000004,03/03/2026 10:00:00,03/03/2026,FPS_OUT,Faster payment,,,,240.00,\"1,093.58\",SETTLED,,MARY JONES,402715,87654321,PA WAGES WK9",
]


def b_event(token, etype, state, pence, created, settlement=None, related=None, mcc="5411", balance=None) -> str:
    acceptor = {"mcc": mcc, "name": "TESCO STORES 2041", "city": "SALFORD", "country_code": "GBR"} if mcc else None
    return json.dumps(
        {
            "token": token, "card_token": "ct_19a0", "type": etype, "state": state, "amount_minor": pence,
            "currency": "GBP", "created_time": created, "settlement_date": settlement,
            "preceding_related_token": related, "card_acceptor": acceptor, "counterparty": None, "memo": "",
            "balance_after_minor": balance,
        }
    )


B_DAY1 = [
    b_event("b-load", "gpa.credit", "COMPLETION", 60_000, "2026-03-02T08:00:00Z", "2026-03-02", mcc=None, balance=65_000),
    b_event("b-7f3a", "authorization", "PENDING", 2_350, "2026-03-02T18:22:05Z"),
]
B_DAY2 = [
    b_event("b-7f3a", "authorization", "PENDING", 2_350, "2026-03-02T18:22:05Z"),  # repeated (at-least-once)
    b_event("b-7f9c", "authorization.clearing", "COMPLETION", 2_310, "2026-03-03T02:10:44Z", "2026-03-03", "b-7f3a", balance=62_690),
]


def write_drop(root: Path, day: str, a_rows: list[str], b_rows: list[str], balances: dict[str, int]) -> Path:
    """A drop folder for ``day`` (YYYYMMDD) with the council extract, A and B files and closing balances."""
    folder = root / day
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in {
        "councils.yaml": COUNCILS_YAML,
        "cardholders.csv": CARDHOLDERS,
        "payees.csv": PAYEES,
        "contributions.csv": CONTRIBUTIONS,
        "load_schedule.csv": LOADS,
        "client_events.csv": EVENTS,
        "commitments.csv": COMMITMENTS,
    }.items():
        (folder / name).write_text(body, encoding="utf-8")
    (folder / f"A_transactions_{day}.csv").write_bytes(("\r\n".join([A_HEADER, *a_rows]) + "\r\n").encode("utf-8"))
    (folder / f"B_events_{day}.jsonl").write_text("\n".join(b_rows) + "\n", encoding="utf-8")
    d = f"{day[6:8]}/{day[4:6]}/{day[0:4]}"
    iso = f"{day[0:4]}-{day[4:6]}-{day[6:8]}"
    (folder / f"A_balances_{day}.csv").write_bytes(
        (
            "Account Number,Balance Date,Closing Balance,Available Balance\r\n"
            f"10442817,{d},{balances['A'] / 100:.2f},{balances['A'] / 100:.2f}\r\n"
        ).encode()
    )
    (folder / f"B_balances_{day}.jsonl").write_text(
        json.dumps({"card_token": "ct_19a0", "as_of_date": iso, "ledger_balance_minor": balances["B"], "available_balance_minor": balances["B"]})
        + "\n"
    )
    return folder


def synthetic_days(root: Path, days: int, purchases_per_day: int) -> list[Path]:
    """Several days of A and B files with running balances that tie, for crash and concurrency tests.

    A: a load on day 1 then purchases that settle the same day; B: a load then authorisations that
    clear the next day (so holds cross files).
    """
    folders = []
    a_balance = 19_055  # take-on
    b_balance = 5_000
    pending_b: list[tuple[str, int, str]] = []
    for d in range(days):
        day = f"202603{2 + d:02d}"
        dd = f"{2 + d:02d}/03/2026"
        iso = f"2026-03-{2 + d:02d}"
        a_rows, b_rows = [], []
        if d == 0:
            a_balance += 500_000
            a_rows.append(f'10442817,A{d}L,{dd} 08:00:00,{dd},LOAD,Council load,,,"5,000.00",,{a_balance / 100:.2f},SETTLED,,,,,DP-0442817-2026-03')
            b_balance += 400_000
            b_rows.append(b_event(f"b{d}L", "gpa.credit", "COMPLETION", 400_000, f"{iso}T08:00:00Z", iso, mcc=None, balance=b_balance))
        for token, pence, _created in pending_b:
            b_balance -= pence
            b_rows.append(b_event(f"{token}c", "authorization.clearing", "COMPLETION", pence, f"{iso}T03:00:00Z", iso, token, balance=b_balance))
        pending_b = []
        for i in range(purchases_per_day):
            pence = 100 + (d * 37 + i * 11) % 900
            a_balance -= pence
            a_rows.append(
                f"10442817,A{d}P{i},{dd} {9 + i % 10:02d}:{i % 60:02d}:00,{dd},POS,Card purchase,SHOP {i},5411,,"
                f"{pence / 100:.2f},{a_balance / 100:.2f},SETTLED,,,,,"
            )
            token = f"b{d}a{i}"
            created = f"{iso}T{10 + i % 10:02d}:{i % 60:02d}:00Z"
            b_rows.append(b_event(token, "authorization", "PENDING", pence, created))
            pending_b.append((token, pence, created))
        folders.append(write_drop(root, day, a_rows, b_rows, {"A": a_balance, "B": b_balance}))
    return folders
