"""Tables of the reconciliation area, on the shared ledger metadata (documented in docs/schema.md)."""

from __future__ import annotations

from ledger.tables import metadata  # noqa: F401  - tables are declared on this metadata
