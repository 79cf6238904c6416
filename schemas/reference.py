"""The council's own files (FEEDS.md, "From the council's own systems"), declared once.

Each file is declared as a list of ``Column``: its name in the CSV, the type it becomes, whether
it may be empty, and for money the ``_pence`` name it is held under. The reader, the GX suite and
docs/schema.md are all driven from these declarations, so a column's rules live in one place.

The council's files arrive as a nightly extract of their full current state, not a delta; a later
extract supersedes an earlier one.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Column:
    name: str  # as in the CSV header
    kind: str  # "text", "date", "money", "int", "flag", "choice"
    required: bool = True
    choices: tuple[str, ...] = ()
    pattern: str | None = None  # a regular expression the text must match in full

    @property
    def stored_name(self) -> str:
        """Money is held as integer pence under ``<name>_pence``; everything else keeps its name."""
        return f"{self.name}_pence" if self.kind == "money" else self.name

    @property
    def dtype(self) -> pl.DataType:
        return {
            "text": pl.Utf8,
            "choice": pl.Utf8,
            "date": pl.Date,
            "money": pl.Int64,
            "int": pl.Int64,
            "flag": pl.Boolean,
        }[self.kind]


@dataclass(frozen=True)
class ReferenceFile:
    file_name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # a duplicate key is refused with file, line and reason
    description: str

    @property
    def header(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def schema(self) -> dict[str, pl.DataType]:
        """The polars schema of the parsed frame (money as ``_pence``), plus ``source_line``."""
        out = {c.stored_name: c.dtype for c in self.columns}
        out["source_line"] = pl.Int64
        return out


SORT_CODE = r"\d{6}"
ACCOUNT_NUMBER = r"\d{8}"

CARDHOLDERS = ReferenceFile(
    "cardholders.csv",
    (
        Column("client_id", "text"),
        Column("council", "text"),
        Column("provider", "choice", choices=("A", "B", "C")),
        Column("account_id", "text"),
        Column("opened", "date"),
        Column("closed", "date", required=False),
        Column("weekly_budget", "money"),
        Column("contingency_weeks", "int", required=False),  # empty = council default
        Column("cash_allowed", "flag"),  # Y / N
        Column("cash_weekly_limit", "money", required=False),
        Column("contribution_model", "choice", choices=("net", "gross", "none")),
        Column("team", "text", required=False),
        Column("safeguarding_email", "text", required=False),
    ),
    key=("client_id",),
    description="One row per client on the card scheme: which card, which council, budget and rules.",
)

PAYEES = ReferenceFile(
    "payees.csv",
    (
        Column("client_id", "text"),
        Column("payee_name", "text"),
        Column("sort_code", "text", pattern=SORT_CODE),
        Column("account_number", "text", pattern=ACCOUNT_NUMBER),
        Column("kind", "choice", choices=("personal_assistant", "agency", "payroll_bureau", "supplier", "other")),
        Column("approved_from", "date"),
        Column("approved_to", "date", required=False),
    ),
    key=("client_id", "sort_code", "account_number", "approved_from"),
    description="Payees each client may pay by bank payment, with approval dates.",
)

CONTRIBUTIONS = ReferenceFile(
    "contributions.csv",
    (
        Column("client_id", "text"),
        Column("weekly_amount", "money"),
        Column("effective_from", "date"),
        Column("effective_to", "date", required=False),
        Column("reference", "text", required=False),
    ),
    key=("client_id", "effective_from"),
    description="Assessed weekly contributions (from the council's financial assessment), effective-dated.",
)

LOAD_SCHEDULE = ReferenceFile(
    "load_schedule.csv",
    (
        Column("client_id", "text"),
        Column("due_date", "date"),
        Column("amount", "money"),
        Column("reference", "text"),
    ),
    key=("reference",),
    description="Loads finance has scheduled.",
)

CLIENT_EVENTS = ReferenceFile(
    "client_events.csv",
    (
        Column("client_id", "text"),
        Column(
            "event",
            "choice",
            choices=(
                "hospital_admission",
                "hospital_discharge",
                "respite_start",
                "respite_end",
                "deceased",
                "suspended",
                "resumed",
            ),
        ),
        Column("date", "date"),
    ),
    key=("client_id", "event", "date"),
    description="Life events that change what spending is expected (hospital, respite, death).",
)

COMMITMENTS = ReferenceFile(
    "commitments.csv",
    (
        Column("client_id", "text"),
        Column("due_date", "date"),
        Column("amount", "money"),
        Column("description", "text"),
    ),
    key=("client_id", "due_date", "description"),
    description="Known bills (PA wages owed, invoices) the contingency buffer must cover.",
)

REFERENCE_FILES: tuple[ReferenceFile, ...] = (
    CARDHOLDERS,
    PAYEES,
    CONTRIBUTIONS,
    LOAD_SCHEDULE,
    CLIENT_EVENTS,
    COMMITMENTS,
)
REFERENCE_BY_NAME: dict[str, ReferenceFile] = {f.file_name: f for f in REFERENCE_FILES}
COUNCILS_YAML = "councils.yaml"


@dataclass(frozen=True)
class ReferenceData:
    """Everything the council told us, parsed: policy per council and each reference file as a frame.

    Frames follow ``<ReferenceFile>.schema`` (money as ``_pence``, dates as ``pl.Date``). This is
    what rules, reconciliation and clawback take as input; they never read the CSVs themselves.
    """

    councils: dict  # council name -> schemas.council_policy.CouncilPolicy
    cardholders: pl.DataFrame
    payees: pl.DataFrame
    contributions: pl.DataFrame
    load_schedule: pl.DataFrame
    client_events: pl.DataFrame
    commitments: pl.DataFrame

    def frame(self, ref: ReferenceFile) -> pl.DataFrame:
        return getattr(self, ref.file_name.removesuffix(".csv"))

    @staticmethod
    def empty(councils: dict | None = None) -> ReferenceData:
        return ReferenceData(
            councils=dict(councils or {}),
            **{f.file_name.removesuffix(".csv"): pl.DataFrame(schema=f.schema) for f in REFERENCE_FILES},
        )
