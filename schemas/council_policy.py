"""``councils.yaml``: each council's money and screening policy.

Why strict: a council's policy decides whose money is recovered and who is alerted. A key we do
not know (a typo such as ``clawback_minmum``) silently ignored would run the scheme on a default
nobody chose, so unknown keys are an error that names the key and the council.

Money in the file is pounds with two decimals; it is held here as integer pence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

WEEKDAYS: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Threshold names the project knows, with their defaults. Documented in docs/screening.md and
# docs/clawback.md; a council overrides any of them under ``thresholds:``.
THRESHOLD_DEFAULTS: dict[str, Any] = {
    # clawback / contributions
    "contribution_missed_weeks": 3,  # consecutive missed weeks before a finance exception
    "clawback_instruction_match_days": 10,  # an approved unload unseen after this is an exception
    "load_match_tolerance_days": 3,  # scheduled vs seen load date tolerance
    "balance_tolerance_pence": 0,  # reconciliation: a card balance differing by more than this is an exception
    "balance_split": "client_first",  # or "pro_rata": which part of the card balance spending uses
    # screening
    "drain_share": 0.8,  # share of a load that left the card ...
    "drain_window_hours": 48,  # ... within this many hours of the load
    "spike_baseline_weeks": 12,
    "spike_mad_multiplier": 5.0,
    "spike_floor_pence": 20000,
    "new_payee_burst_count": 3,
    "new_payee_window_days": 14,
    "dormant_days": 28,
    "unusual_hours_start": 0,  # London local hour, inclusive
    "unusual_hours_end": 5,  # London local hour, exclusive
    "unusual_hours_min_count": 3,
    "velocity_count": 8,
    "velocity_window_minutes": 60,
    "case_cooldown_days": 14,
    # screening additions (docs/screening.md)
    "spike_min_history_weeks": 4,  # fewer observed baseline weeks than this: only the floor applies
    "unusual_hours_window_days": 7,  # unusual_hours_min_count night-time card items within this many days
    # per-client exceptions, keyed by client id (a council-level mapping: the council files have no per-client
    # threshold column). allowed_mcc_by_client: {C001: ["5921", "gambling"]} (MCC codes or group names);
    # client_thresholds: {C001: {drain_share: 0.95, dormant_days: 42}} (any screening parameter above).
    "allowed_mcc_by_client": {},
    "client_thresholds": {},
}

_KNOWN_KEYS = {
    "name",
    "funding_account",
    "default_contingency_weeks",
    "starter_float_weeks",
    "clawback_minimum",
    "clawback_weekday",
    "restricted_mcc_groups",
    "cash",
    "safeguarding_mailbox",
    "finance_mailbox",
    "thresholds",
}
_REQUIRED_KEYS = {"name", "funding_account"}
_CASH_KEYS = {"allowed_by_default", "daily_atm_limit"}
_FUNDING_KEYS = {"sort_code", "account_number"}


class PolicyError(ValueError):
    """councils.yaml does not describe a policy we can run; the message says where and why."""


def pounds_to_pence(value: Any, where: str) -> int:
    """Exact conversion of a pounds value (``50``, ``50.00``, ``"1,234.56"``) to integer pence."""
    text = str(value).replace(",", "").replace("£", "").strip()
    try:
        pounds = Decimal(text)
    except InvalidOperation as exc:
        raise PolicyError(f"{where}: expected an amount in pounds, found {value!r}") from exc
    pence = pounds * 100
    if pence != pence.to_integral_value():
        raise PolicyError(f"{where}: {value!r} is not a whole number of pence")
    return int(pence)


@dataclass(frozen=True)
class CouncilPolicy:
    name: str
    funding_sort_code: str
    funding_account_number: str
    default_contingency_weeks: int = 6
    starter_float_weeks: int = 8
    clawback_minimum_pence: int = 5000
    clawback_weekday: str = "Wednesday"
    restricted_mcc_groups: tuple[str, ...] = ()
    cash_allowed_by_default: bool = False
    daily_atm_limit_pence: int = 25000
    safeguarding_mailbox: str = ""
    finance_mailbox: str = ""
    thresholds: Mapping[str, Any] = field(default_factory=dict)

    def threshold(self, name: str) -> Any:
        """A rule parameter: the council's value, else the project default."""
        if name in self.thresholds:
            return self.thresholds[name]
        return THRESHOLD_DEFAULTS[name]

    @property
    def clawback_isoweekday(self) -> int:
        return WEEKDAYS.index(self.clawback_weekday) + 1

    def clawback_date(self, iso_week: str) -> dt.date:
        """The date of this council's clawback run in an ISO week such as ``2026-W10``."""
        year, week = iso_week.split("-W")
        return dt.date.fromisocalendar(int(year), int(week), self.clawback_isoweekday)


def _council_from_mapping(raw: Mapping[str, Any], index: int) -> CouncilPolicy:
    where = f"councils.yaml: council #{index + 1}"
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where}: expected a mapping, found {type(raw).__name__}")
    name = raw.get("name")
    if name:
        where = f"councils.yaml: council {name!r}"
    unknown = sorted(set(raw) - _KNOWN_KEYS)
    if unknown:
        raise PolicyError(f"{where}: unknown key(s) {', '.join(unknown)}; known keys are {', '.join(sorted(_KNOWN_KEYS))}")
    missing = sorted(_REQUIRED_KEYS - set(raw))
    if missing:
        raise PolicyError(f"{where}: missing required key(s) {', '.join(missing)}")
    funding = raw["funding_account"] or {}
    if not isinstance(funding, Mapping) or set(funding) != _FUNDING_KEYS:
        raise PolicyError(f"{where}: funding_account needs exactly sort_code and account_number")
    sort_code = str(funding["sort_code"]).replace("-", "").strip()
    account_number = str(funding["account_number"]).strip()
    if not (sort_code.isdigit() and len(sort_code) == 6):
        raise PolicyError(f"{where}: funding_account.sort_code must be 6 digits, found {funding['sort_code']!r}")
    if not (account_number.isdigit() and len(account_number) == 8):
        raise PolicyError(f"{where}: funding_account.account_number must be 8 digits, found {funding['account_number']!r}")
    cash = raw.get("cash") or {}
    unknown_cash = sorted(set(cash) - _CASH_KEYS)
    if unknown_cash:
        raise PolicyError(f"{where}: unknown key(s) under cash: {', '.join(unknown_cash)}")
    weekday = str(raw.get("clawback_weekday", "Wednesday")).capitalize()
    if weekday not in WEEKDAYS:
        raise PolicyError(f"{where}: clawback_weekday must be a weekday name, found {raw.get('clawback_weekday')!r}")
    thresholds = raw.get("thresholds") or {}
    unknown_thresholds = sorted(set(thresholds) - set(THRESHOLD_DEFAULTS))
    if unknown_thresholds:
        raise PolicyError(
            f"{where}: unknown threshold(s) {', '.join(unknown_thresholds)}; "
            f"known: {', '.join(sorted(THRESHOLD_DEFAULTS))}"
        )
    from schemas.mcc import GROUPS  # local import: keeps this module light for DAG parsing

    groups = tuple(raw.get("restricted_mcc_groups") or ())
    unknown_groups = sorted(set(groups) - set(GROUPS))
    if unknown_groups:
        raise PolicyError(f"{where}: unknown restricted_mcc_groups {', '.join(unknown_groups)}; known: {', '.join(GROUPS)}")
    for key in ("default_contingency_weeks", "starter_float_weeks"):
        if key in raw and (not isinstance(raw[key], int) or raw[key] < 0):
            raise PolicyError(f"{where}: {key} must be a whole number of weeks, found {raw[key]!r}")
    return CouncilPolicy(
        name=str(name),
        funding_sort_code=sort_code,
        funding_account_number=account_number,
        default_contingency_weeks=int(raw.get("default_contingency_weeks", 6)),
        starter_float_weeks=int(raw.get("starter_float_weeks", 8)),
        clawback_minimum_pence=pounds_to_pence(raw.get("clawback_minimum", "50.00"), f"{where}: clawback_minimum"),
        clawback_weekday=weekday,
        restricted_mcc_groups=groups,
        cash_allowed_by_default=bool(cash.get("allowed_by_default", False)),
        daily_atm_limit_pence=pounds_to_pence(cash.get("daily_atm_limit", "250.00"), f"{where}: cash.daily_atm_limit"),
        safeguarding_mailbox=str(raw.get("safeguarding_mailbox", "")),
        finance_mailbox=str(raw.get("finance_mailbox", "")),
        thresholds=dict(thresholds),
    )


def parse_councils(text: str) -> dict[str, CouncilPolicy]:
    """Parse councils.yaml text into policies keyed by council name."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"councils.yaml is not valid YAML: {exc}") from exc
    if not isinstance(doc, Mapping) or set(doc) != {"councils"}:
        raise PolicyError("councils.yaml must have exactly one top-level key, 'councils'")
    councils = doc["councils"] or []
    if not isinstance(councils, list) or not councils:
        raise PolicyError("councils.yaml: 'councils' must be a non-empty list")
    policies: dict[str, CouncilPolicy] = {}
    for i, raw in enumerate(councils):
        policy = _council_from_mapping(raw, i)
        if policy.name in policies:
            raise PolicyError(f"councils.yaml: council {policy.name!r} is listed twice")
        policies[policy.name] = policy
    return policies


def load_councils(path: Path) -> dict[str, CouncilPolicy]:
    return parse_councils(Path(path).read_text(encoding="utf-8"))
