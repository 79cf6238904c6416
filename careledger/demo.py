"""The README's main job: build a demo data set and run the pipeline over it on embedded SQLite.

Why a module and not a shell script: the same steps run from ``make demo``, from tests, and from
Airflow's ``dag.test()``; they must be one piece of code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEMO_DIR = Path("out/demo")


@dataclass
class DemoResult:
    db_url: str
    outputs: dict[str, Path] = field(default_factory=dict)


def run_demo(out_dir: Path = DEMO_DIR, *, clients: int = 60, days: int = 28, seed: int = 7) -> DemoResult:
    """Create (or reuse) the demo database under ``out_dir`` and run every stage that exists."""
    from ledger.db import get_engine
    from ledger.migrate import upgrade

    out_dir.mkdir(parents=True, exist_ok=True)
    db_path = out_dir / "careledger.db"
    if db_path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(str(db_path) + suffix).unlink(missing_ok=True)
    url = f"sqlite:///{db_path}"
    with get_engine(url).begin() as conn:
        upgrade(conn)
    return DemoResult(url, {"database": db_path})
