"""Goal: provider files are recognised by name only when the name is exactly FEEDS.md's pattern."""

from __future__ import annotations

import datetime as dt

import pytest

from feeds.readers import FileRefused, detect_file, read_provider_file


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("A_transactions_20260302.csv", ("A", "transactions", dt.date(2026, 3, 2))),
        ("A_balances_20260302.csv", ("A", "balances", dt.date(2026, 3, 2))),
        ("B_events_20261025.jsonl", ("B", "transactions", dt.date(2026, 10, 25))),
        ("B_balances_20261025.jsonl", ("B", "balances", dt.date(2026, 10, 25))),
        ("C_transactions_20260101.json", ("C", "transactions", dt.date(2026, 1, 1))),
        ("C_balances_20260101.json", ("C", "balances", dt.date(2026, 1, 1))),
        ("cardholders.csv", None),
        ("councils.yaml", None),
        ("A_transactions_20260230.csv", None),  # no such day
        ("A_transactions_2026030.csv", None),
        ("B_events_20260302.json", None),
        ("C_transactions_20260302.jsonl", None),
        ("a_transactions_20260302.csv", None),
        ("A_transactions_20260302.csv.bak", None),
    ],
)
def test_detect_file(name, expected):
    assert detect_file(name) == expected


def test_reading_an_unrecognised_name_is_refused(tmp_path):
    path = tmp_path / "A_transactions_latest.csv"
    path.write_text("x")
    with pytest.raises(FileRefused, match="A_transactions_latest.csv"):
        read_provider_file(path)
