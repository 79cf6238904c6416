"""Goal: a card number (PAN) anywhere in a provider file is masked before anything is stored and
reported as an incident naming file, line and field — and account numbers, sort codes, references
and non-Luhn numbers are left alone."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.readers import read_provider_file
from feeds.readers.pan import find_pans, luhn_ok, mask_pans_in_text
from tests.feeds.files import a_row, b_line, write_a, write_b

PAN = "4111111111111111"  # Luhn-valid test card number
NOT_LUHN = "4111111111111112"


def test_luhn():
    assert luhn_ok(PAN) and luhn_ok("378282246310005") and not luhn_ok(NOT_LUHN)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"card {PAN} used", "card ************1111 used"),
        ("card 4111 1111 1111 1111 used", "card **** **** **** 1111 used"),
        ("card 4111-1111-1111-1111", "card ****-****-****-1111"),
        ("amex 3782 822463 10005", "amex **** ****** *0005"),
        ("4111 1111 1111 1111 12", "**** **** **** 1111 12"),  # the card-shaped part of a longer run
        (f"x{PAN}y", "x************1111y"),
    ],
)
def test_pans_are_masked_to_last_four(text, masked):
    assert mask_pans_in_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "10442817",  # 8-digit account
        "309634",  # sort code
        "309634 12345678",  # sort code + account, 6-8 grouping
        NOT_LUHN,
        "DP-0442817-2026-03",  # 13 digits, passes Luhn, but grouped 7-4-2: a reference
        "02/03/2026 09:15:02",
        "12345678901234567890123",  # longer than any card number
        '"Identification": "40271587654321"',  # OBIE sort code + account
    ],
)
def test_non_pans_are_left_alone(text):
    assert find_pans(text) == []
    assert mask_pans_in_text(text) == text


def test_a_pan_in_description_is_masked_everywhere_and_reported(tmp_path):
    rows = [
        a_row("A1", "02/03/2026 10:00:00", description=f"Card {PAN}"),
        a_row("A2", "02/03/2026 10:00:00", reference=f"Card {NOT_LUHN}"),
        a_row("A3", "31/02/2026 10:00:00", reference=f"paid with {PAN}"),  # bad date: quarantined
    ]
    path = write_a(tmp_path, rows)
    result = read_provider_file(path)
    assert [(i.source_file, i.source_line, i.field) for i in result.incidents] == [
        (path.name, 2, "Description"),
        (path.name, 4, "Reference"),
    ]
    assert all(PAN not in i.description and "ending 1111" in i.description for i in result.incidents)
    stored = result.transactions.write_csv() + result.quarantine.write_csv()
    assert PAN not in stored and NOT_LUHN in stored
    assert "************1111" in result.quarantine["raw_text"][0]


def test_a_pan_in_a_b_event_field_is_masked(tmp_path):
    line = b_line("t1", "authorization", "PENDING", 100, memo=f"card {PAN}")
    broken = '{"token": "t2", "memo": "' + PAN + '", '
    result = read_provider_file(write_b(tmp_path, [line, broken, b_line("t3", "authorization", "PENDING", 1)]))
    assert [(i.source_line, i.field) for i in result.incidents] == [(1, "memo"), (2, "(unparsed line)")]
    assert result.transactions.row(0, named=True)["reference"] == "card ************1111"
    assert PAN not in result.quarantine.write_csv() + result.transactions.write_csv()
    json.loads(result.transactions.write_ndjson().splitlines()[0])


def _luhn_complete(prefix: str) -> str:
    return next(prefix + str(d) for d in range(10) if luhn_ok(prefix + str(d)))


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet="0123456789", min_size=15, max_size=15),
    st.text(alphabet=st.characters(blacklist_categories=("Nd",)), max_size=20),
    st.text(alphabet=st.characters(blacklist_categories=("Nd",)), max_size=20),
)
def test_any_luhn_valid_16_digit_number_in_text_is_masked(prefix, before, after):
    pan = _luhn_complete(prefix)
    masked = mask_pans_in_text(before + pan + after)
    assert pan not in masked and masked.endswith(pan[-4:] + after) and masked.startswith(before)


def test_a_refusal_message_quoting_the_file_never_carries_a_pan(tmp_path):
    from feeds.readers import FileRefused

    path = write_a(tmp_path, [], header=f"Account Number,{PAN}")
    try:
        read_provider_file(path)
    except FileRefused as exc:
        assert PAN not in str(exc) and "************1111" in str(exc)
    else:
        raise AssertionError("a wrong header must refuse the file")


def test_hostile_long_digit_runs_stay_fast():
    import time

    text = " ".join(["1"] * 50_000) + " 4111-1111-1111-1111"
    start = time.perf_counter()
    masked = mask_pans_in_text(text)
    assert time.perf_counter() - start < 5
    assert masked.endswith("****-****-****-1111")


def test_file_precheck_skips_only_what_cannot_hold_a_pan():
    """The whole-file precheck lets a reader skip the per-value walk, never a real card number."""
    from feeds.readers.pan import might_hold_pan

    sort_code_ident = '{"SchemeName":"UK.OBIE.SortCodeAccountNumber","Identification":"40112290001234"}'
    assert not might_hold_pan(sort_code_ident + ' "Amount":"12.30" "2026-03-04T06:00:30+00:00"')
    assert might_hold_pan(sort_code_ident + ' "TransactionInformation":"card 4111 1111 1111 1111"')
    assert might_hold_pan('{"SchemeName":"UK.OBIE.PAN","Identification":"5555"}')
    # another key order is not recognised, so the careful path runs
    assert might_hold_pan('{"Identification":"40112290001234","SchemeName":"UK.OBIE.SortCodeAccountNumber"}')


_FRAGMENTS = (
    '"SchemeName":"UK.OBIE.SortCodeAccountNumber","Identification":"40112290001234"',
    '"SchemeName" : "UK.OBIE.SortCodeAccountNumber" , "Identification" : "30963412345678"',
    '"Identification":"40112290001234","SchemeName":"UK.OBIE.SortCodeAccountNumber"',
    "4111 1111 1111 1111", "4111-1111-1111-1111", "1234567890123", "123456789012", "DP-0442817-2026-03",
    '"Amount":"12.30"', " ", "\n", "\t", "-", "0", "9", '"', ",", "£", "\u00a0",
)


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=12).map("".join))
def test_the_whole_file_prefilter_agrees_with_pythons_regex(text):
    """might_hold_pan runs its two regexes in polars (Rust); on JSON-like text it answers exactly as
    Python's re with the same patterns would (the reference below)."""
    import re

    from feeds.readers.pan import _LONG_RUN_RE, _SORT_CODE_IDENT_RE, might_hold_pan

    reference = "UK.OBIE.PAN" in text or re.search(_LONG_RUN_RE, _SORT_CODE_IDENT_RE.sub("", text)) is not None
    assert might_hold_pan(text) == reference
