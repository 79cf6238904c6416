"""Raw files archived as Parquet, partitioned by provider and date, so any day can be re-run.

Why Parquet of raw lines and not the parsed rows: a re-run must see exactly what arrived (with any
card number masked first), so the archive keeps each physical line's bytes; ``restore_file``
writes the file back byte for byte.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from feeds.readers.pan import mask_pans_in_text


def archive_path(root: Path, provider: str, feed_date: dt.date, sha256: str) -> Path:
    return Path(root) / f"provider={provider}" / f"date={feed_date.isoformat()}" / f"{sha256}.parquet"


def archive_file(path: Path, root: Path, provider: str, feed_date: dt.date, sha256: str) -> Path:
    """Write ``path``'s lines (PANs masked) to the archive; idempotent by content hash."""
    target = archive_path(root, provider, feed_date, sha256)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    raw = path.read_bytes()
    lines = raw.splitlines(keepends=True) or [b""]  # an empty file still keeps its name
    masked = [mask_pans_in_text(line.decode("latin-1")).encode("latin-1") for line in lines]
    tmp = target.with_suffix(".tmp")
    pl.DataFrame(
        {
            "file_name": [path.name] * len(masked),
            "line_no": list(range(1, len(masked) + 1)),
            "raw_line": masked,
        },
        schema={"file_name": pl.Utf8, "line_no": pl.Int64, "raw_line": pl.Binary},
    ).write_parquet(tmp)
    tmp.replace(target)  # atomic: a crash never leaves a half-written archive file
    return target


def restore_file(archived: Path, out_dir: Path) -> Path:
    """Write an archived file back into ``out_dir`` under its original name."""
    df = pl.read_parquet(archived).sort("line_no")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = Path(out_dir) / df["file_name"][0]
    target.write_bytes(b"".join(df["raw_line"].to_list()))
    return target


def archived_days(root: Path, provider: str | None = None) -> list[tuple[str, dt.date, Path]]:
    out = []
    for part in sorted(Path(root).glob("provider=*/date=*/*.parquet")):
        p = part.parent.parent.name.split("=", 1)[1]
        d = dt.date.fromisoformat(part.parent.name.split("=", 1)[1])
        if provider is None or p == provider:
            out.append((p, d, part))
    return out


def restore_day(root: Path, feed_date: dt.date, out_dir: Path) -> list[Path]:
    """Every provider file archived for ``feed_date``, written back into ``out_dir`` (a drop folder
    to re-run; the council's extract is not archived here — it is stored in the ref_* tables)."""
    return [restore_file(part, Path(out_dir)) for _, d, part in archived_days(root) if d == feed_date]
