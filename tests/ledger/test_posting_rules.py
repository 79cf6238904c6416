"""Goal: docs/ledger.md's worked examples are what the posting rules actually do, penny for penny."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from ledger.posting_rules import CardState, build_entries, take_from_parts, take_on_entry
from schemas.canonical import CANONICAL_SCHEMA, conform

ACC = "10442817"
CARD_COUNCIL = f"card:A:{ACC}:council"
CARD_CLIENT = f"card:A:{ACC}:client"


def item(txn: str, kind: str, pence: int, *, mcc=None, related=None, hour=10, day=2) -> dict:
    at = dt.datetime(2026, 3, day, hour, 0, tzinfo=dt.UTC)
    return {
        "provider": "A", "provider_txn_id": txn, "account_id": ACC, "client_id": "C001", "council": "Testshire",
        "kind": kind, "status": "settled", "amount_pence": pence, "currency": "GBP", "occurred_at_utc": at,
        "london_date": at.date(), "posted_date": at.date(), "mcc": mcc, "related_txn_id": related,
        "source_file": "A_transactions_20260302.csv", "source_line": 2,
    }


EXAMPLE = [
    item("L1", "council_load", 112_000, hour=9),
    item("C1", "contribution", 3_533, hour=10),
    item("P1", "card_purchase", -1_249, mcc="5912", hour=11),
    item("PA1", "payment_to_payee", -24_000, hour=12),
    item("ATM1", "cash", -5_000, mcc="6011", hour=13),
    item("R1", "refund", 1_249, mcc="5912", related="P1", hour=14),
    item("F1", "fee", -150, hour=15),
    item("REV1", "reversal", 5_000, related="ATM1", hour=16),
    item("U1", "unload", -30_000, hour=17),
]
# (council part, client part) after each event, in pence, as in docs/ledger.md
EXPECTED_PARTS = [
    (131_055, 0), (131_055, 3_533), (131_055, 2_284), (109_339, 0), (104_339, 0),
    (104_339, 1_249), (104_339, 1_099), (109_339, 1_099), (79_339, 1_099),
]


def frame(rows: list[dict]) -> pl.DataFrame:
    return conform(pl.DataFrame(rows, schema={k: CANONICAL_SCHEMA[k] for k in rows[0]}))


def test_worked_examples_from_docs():
    state = {("A", ACC): CardState(council_pence=19_055, client_pence=0)}  # after the take-on
    originals: dict = {}
    for event, expected in zip(EXAMPLE, EXPECTED_PARTS, strict=True):
        built = build_entries(frame([event]), state, originals, {"Testshire": "client_first"})
        state = built.states
        for key, code, pence in built.postings.iter_rows():
            originals.setdefault(key, []).append((code, pence))
        assert (state[("A", ACC)].council_pence, state[("A", ACC)].client_pence) == expected, event["provider_txn_id"]
        assert built.postings["amount_pence"].sum() == 0


def test_payment_to_pa_takes_client_money_first():
    built = build_entries(
        frame([EXAMPLE[3]]), {("A", ACC): CardState(131_055, 2_284)}, {}, {"Testshire": "client_first"}
    )
    lines = dict((c, p) for _, c, p in built.postings.iter_rows())
    assert lines == {"spend:Testshire:payments_to_payees": 24_000, CARD_CLIENT: -2_284, CARD_COUNCIL: -21_716}


def test_full_reversal_negates_and_links():
    originals = {"A:ATM1": [("cash:Testshire", 5_000), (CARD_COUNCIL, -5_000)]}
    built = build_entries(frame([EXAMPLE[7]]), {("A", ACC): CardState(0, 0)}, originals, {})
    assert built.entries["reverses_key"].to_list() == ["A:ATM1"]
    assert sorted(built.postings.select("account_code", "amount_pence").rows()) == [
        (CARD_COUNCIL, 5_000), ("cash:Testshire", -5_000)
    ]


def test_unknown_card_goes_to_suspense():
    row = item("X1", "card_purchase", -700, mcc="5411") | {"client_id": None, "council": None}
    built = build_entries(frame([row]), {}, {}, {})
    assert sorted(built.postings.select("account_code", "amount_pence").rows()) == [
        ("suspense:A:10442817", -700), ("suspense:A:counterparty", 700)
    ]


def test_settled_next_day_books_on_posting_date():
    row = item("P9", "card_purchase", -2_310, mcc="5411", day=3, hour=18) | {"posted_date": dt.date(2026, 3, 4)}
    built = build_entries(frame([row]), {}, {}, {})
    assert built.entries["london_date"].to_list() == [dt.date(2026, 3, 4)]
    assert built.entries["effective_at"][0] == dt.datetime(2026, 3, 4, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("amount", "council", "client", "policy", "expected"),
    [
        (1_000, 5_000, 300, "client_first", (700, 300)),
        (1_000, 5_000, 3_000, "client_first", (0, 1_000)),
        (1_000, 3_000, 1_000, "pro_rata", (750, 250)),
        (1_000, 0, -50, "client_first", (1_000, 0)),
    ],
)
def test_take_from_parts(amount, council, client, policy, expected):
    assert take_from_parts(amount, council, client, policy) == expected


def test_take_on_of_unknown_card_is_suspense():
    built = take_on_entry("B", "ct_x", None, None, dt.date(2026, 3, 2), 4_500, "B_balances_20260302.jsonl")
    assert sorted(built.postings.select("account_code", "amount_pence").rows()) == [
        ("suspense:B:counterparty", -4_500), ("suspense:B:ct_x", 4_500)
    ]
