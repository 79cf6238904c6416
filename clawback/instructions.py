"""Unload instructions in each provider's format, and matching the unloads that carry them out.

Why per provider: finance sends each provider an instruction file in the shape that provider's
own feed uses (FEEDS.md), so the unload that comes back in the feed can be tied to its instruction
by account, amount and reference. The formats (docs/clawback.md, "Instruction files"):

* A — portal CSV, CRLF, header ``Account Number,Amount,Reference``; Amount in pounds, 2 decimals.
* B — JSON lines, one ``gpa.debit`` request per card: ``type, card_token, amount_minor, currency,
  memo, idempotency_key``.
* C — one JSON document ``{"Data": {"DomesticPayments": [...]}}`` of OBIE-style domestic payment
  initiations (``OBWriteDomestic2``'s ``Initiation``): debtor = the card's AccountId, creditor =
  the council's funding account (``UK.OBIE.SortCodeAccountNumber``), ``InstructedAmount`` as a
  decimal string, the reference in ``RemittanceInformation.Reference``.

File writing is deterministic (sorted, no timestamps inside), so approving again rewrites the
same bytes. Matching and the unmatched check are pure functions.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from clawback.calc import normalise_reference

INSTRUCTION_SUFFIX = {"A": "csv", "B": "jsonl", "C": "json"}


@dataclass(frozen=True)
class Instruction:
    instruction_id: str
    council: str
    iso_week: str
    client_id: str
    provider: str
    account_id: str
    amount_pence: int
    reference: str
    issued_on: dt.date

    def __post_init__(self) -> None:
        assert self.amount_pence > 0, "an unload instruction moves a positive amount"
        assert self.provider in INSTRUCTION_SUFFIX, self.provider


def reference_for(iso_week: str, account_id: str) -> str:
    """``CB 2026-W10 2817``: the week and the card's last 4 characters, at most 18 characters
    (the Bacs reference limit), the same on every re-issue of the same week."""
    ref = f"CB {iso_week} {account_id[-4:]}"
    assert len(ref) <= 18
    return ref


def slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name).strip("_") or "council"


def instruction_file_name(provider: str, council: str, iso_week: str) -> str:
    return f"{provider}_unload_instructions_{slug(council)}_{iso_week}.{INSTRUCTION_SUFFIX[provider]}"


def _pounds(pence: int) -> str:
    whole, part = divmod(int(pence), 100)
    return f"{whole}.{part:02d}"


def render_a(items: Sequence[Instruction]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["Account Number", "Amount", "Reference"])
    for i in items:
        w.writerow([i.account_id, _pounds(i.amount_pence), i.reference])
    return buf.getvalue().encode("utf-8")


def render_b(items: Sequence[Instruction]) -> bytes:
    lines = [
        json.dumps(
            {
                "type": "gpa.debit",
                "card_token": i.account_id,
                "amount_minor": i.amount_pence,
                "currency": "GBP",
                "memo": i.reference,
                "idempotency_key": i.instruction_id,
            },
            sort_keys=False,
        )
        for i in items
    ]
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def render_c(items: Sequence[Instruction], funding_sort_code: str, funding_account_number: str, council: str) -> bytes:
    payments = [
        {
            "Initiation": {
                "InstructionIdentification": i.instruction_id[-35:],
                "EndToEndIdentification": i.reference,
                "InstructedAmount": {"Amount": _pounds(i.amount_pence), "Currency": "GBP"},
                "DebtorAccount": {"SchemeName": "UK.CareLedger.AccountId", "Identification": i.account_id},
                "CreditorAccount": {
                    "SchemeName": "UK.OBIE.SortCodeAccountNumber",
                    "Identification": funding_sort_code + funding_account_number,
                    "Name": council,
                },
                "RemittanceInformation": {"Reference": i.reference, "Unstructured": f"Direct payment surplus return {i.iso_week}"},
            },
            "Risk": {"PaymentContextCode": "PartyToParty"},
        }
        for i in items
    ]
    return (json.dumps({"Data": {"DomesticPayments": payments}}, indent=2) + "\n").encode("utf-8")


def write_instruction_files(
    items: Sequence[Instruction], out_dir: Path, *, council: str, iso_week: str, funding_sort_code: str, funding_account_number: str
) -> dict[str, Path]:
    """One file per provider that has instructions; returns provider -> path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for provider in sorted({i.provider for i in items}):
        mine = sorted((i for i in items if i.provider == provider), key=lambda i: i.account_id)
        if provider == "A":
            data = render_a(mine)
        elif provider == "B":
            data = render_b(mine)
        else:
            data = render_c(mine, funding_sort_code, funding_account_number, council)
        path = out_dir / instruction_file_name(provider, council, iso_week)
        path.write_bytes(data)
        paths[provider] = path
    return paths


# --- matching -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UnloadSeen:
    """A settled unload in a feed: money off the card to the council."""

    txn_id: str  # provider_txn_id
    provider: str
    account_id: str
    day: dt.date
    amount_pence: int  # positive: the amount unloaded
    reference: str | None


def match_unloads(open_items: Sequence[Instruction], seen: Sequence[UnloadSeen], taken: set[tuple[str, str]]) -> dict[str, UnloadSeen]:
    """Instruction id -> the unload that carried it out.

    An unload matches an instruction on the same card for exactly the same amount, on or after the
    day it was issued, and with the same reference where the feed carries one. Each unload matches
    at most one instruction (``taken`` holds unloads already matched earlier); oldest instructions
    and earliest unloads first, so the outcome does not depend on the order rows were read.
    """
    used = set(taken)
    out: dict[str, UnloadSeen] = {}
    pool = sorted(seen, key=lambda u: (u.day, u.provider, u.txn_id))
    for ins in sorted(open_items, key=lambda i: (i.issued_on, i.instruction_id)):
        for u in pool:
            if (u.provider, u.txn_id) in used:
                continue
            if (u.provider, u.account_id) != (ins.provider, ins.account_id) or u.amount_pence != ins.amount_pence:
                continue
            if u.day < ins.issued_on:
                continue
            if u.reference and normalise_reference(u.reference) != normalise_reference(ins.reference):
                continue
            out[ins.instruction_id] = u
            used.add((u.provider, u.txn_id))
            break
    return out


def overdue(open_items: Sequence[Instruction], as_of: dt.date, match_days: int) -> list[Instruction]:
    """Instructions still unmatched more than ``match_days`` after they were issued."""
    return [i for i in open_items if (as_of - i.issued_on).days > match_days]
