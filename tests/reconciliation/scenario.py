"""A hand-built month for reconciliation and report tests: five cards, loads, daily spending, and (optionally)
one planted discrepancy of each kind, each on its own card so that differences do not add up."""

from __future__ import annotations

import datetime as dt

from reconciliation.run import reconcile_day
from tests.reconciliation.builders import Book, day

PROVIDERS = ("A", "B")
CARDS = [("C1", "A", "10000001"), ("C2", "A", "10000002"), ("C3", "B", "ct_0003"), ("C4", "B", "ct_0004"), ("C5", "A", "10000005")]
QUARANTINED_A_ROW = "10000001,AQ1,06/03/2026 12:00:00,06/03/2026,POS,Card purchase,BOOTS,5912,,12.49,,SETTLED,,,,,"


def build_month(db_url: str, days: int, *, planted: bool) -> Book:
    """Build and reconcile ``days`` days. With ``planted``, these are planted (day numbers from 1 = 2 March):

    - C1 (A:…0001): a settled £12.49 purchase on day 5 held in quarantine; the provider's balance includes it.
    - C2 (A:…0002): a £5.00 purchase pending in our feed on day 7 that the provider booked that day; it
      settles in our feed on day 8 (posted day 7), which closes day 7's difference.
    - C3 (B:ct_0003): a £20.00 purchase on day 4 resent on day 5 as £21.00 (a conflict); the provider's
      balance takes £21.00 from day 5.
    - C4 (B:ct_0004): the provider's balance on day 9 is £7.77 higher, with no item to explain it.
    - A:99999999: a card not in the register (items to suspense).
    - Loads: L2 seen 5 days late; L3 £900 instead of £1,000; L4 never seen; L5 seen twice; an unscheduled load.
    - Files: B's balances file for day 12 never arrives; A's transactions file for day 18 arrives with day 19's drop.
    - Day 10: "other money in" on C5's card.
    """
    book = Book(db_url)
    for client, p, a in CARDS:
        book.card(client, p, a)
    for client, _, _ in CARDS:
        book.scheduled(client, day(1), 100_000, f"L-{client}-1")
    if planted:
        book.scheduled("C2", day(15), 50_000, "L2")
        book.scheduled("C1", day(15), 100_000, "L3")
        book.scheduled("C3", day(15), 40_000, "L4")
        book.scheduled("C4", day(22), 30_000, "L5")
    book.save_reference()
    held_a_day18: list[dict] = []
    for n in range(1, days + 1):
        d = day(n)
        rows: list[dict] = []
        if n == 1:
            rows += [book.item(p, f"{p}-L-{c}", a, "council_load", 100_000, d, reference=f"L-{c}-1") for c, p, a in CARDS]
            if planted:
                rows.append(book.item("A", "A-U1", "99999999", "council_load", 7_000, d))
        for i, (c, p, a) in enumerate(CARDS):
            rows.append(book.item(p, f"{p}-P-{c}-{n}", a, "card_purchase", -(100 + 7 * n + i), d, hour=9 + i))
        extra_balance: dict[str, int] = {}
        extra_b: dict[str, int] = {}
        if planted:
            if n == 4:
                rows.append(book.item("B", "B-X3", "ct_0003", "card_purchase", -2_000, d))
            if n == 5:
                # The quarantined purchase: the provider has it, the ledger does not.
                book.running[("A", "10000001")] -= 1_249
            if n >= 5:
                extra_b["ct_0003"] = -100  # the provider took 21.00, the ledger holds 20.00
            if n == 5:
                book.post([book.item("B", "B-X3", "ct_0003", "card_purchase", -2_100, day(4))], file_day=d)
            if n == 7:
                rows.append(book.item("A", "A-H2", "10000002", "card_purchase", -500, d, status="pending", hour=15))
                extra_balance["10000002"] = -500
            if n == 8:
                rows.append(book.item("A", "A-H2", "10000002", "card_purchase", -500, day(7), posted=day(7), hour=15))
            if n == 9:
                extra_b["ct_0004"] = 777
            if n == 10:
                rows.append(book.item("A", "A-O5", "10000005", "other_money_in", 2_500, d, reference="GIFT", payee_account="12345678"))
            if n == 16:
                rows.append(book.item("A", "A-L3", "10000001", "council_load", 90_000, d, reference="L3"))
            if n == 20:
                rows.append(book.item("A", "A-L2", "10000002", "council_load", 50_000, day(20), reference="L2"))
                rows.append(book.item("A", "A-UX", "10000005", "council_load", 30_000, d))
            if n == 22:
                rows.append(book.item("B", "B-L5a", "ct_0004", "council_load", 30_000, d, reference="L5"))
                rows.append(book.item("B", "B-L5b", "ct_0004", "council_load", 30_000, d, reference="L5", hour=11))
        if planted and n == 18:
            held_a_day18 = [r for r in rows if r["provider"] == "A"]
            rows = [r for r in rows if r["provider"] != "A"]
            for r in held_a_day18:  # the provider's balance has them
                book.running[(r["provider"], r["account_id"])] += r["amount_pence"]
        if rows:
            # Posting moves the builder's running balances for settled rows; pending ones don't.
            book.post(rows, file_day=d)
        if planted and n == 19:
            for r in held_a_day18:
                book.running[(r["provider"], r["account_id"])] -= r["amount_pence"]
            book.post(held_a_day18, file_day=day(18))
            book.file("A", "transactions", day(18), drop=d)
        if planted and n == 5:
            book.quarantine_row("A", d, 7, "AQ1", "bad date: '31/02/2026' is not a date", QUARANTINED_A_ROW)
        overrides_a = {a: book.running[("A", a)] + v for a, v in extra_balance.items()}
        if planted:
            overrides_a["99999999"] = 7_000
        book.balances("A", d, overrides_a)
        if not (planted and n == 12):
            book.balances("B", d, {a: book.running[("B", a)] + v for a, v in extra_b.items()})
        for p in PROVIDERS:
            if planted and p == "A" and n == 18:
                book.file("A", "balances", d)
                continue
            if planted and p == "B" and n == 12:
                book.file("B", "transactions", d)
                continue
            book.day_files(d, (p,))
        if n == 1:
            book.take_ons()
        reconcile_day(db_url, d, expected_providers=PROVIDERS)
    return book


def month_end(days: int) -> dt.date:
    return day(days)
