"""Profile the post stage of one generated day with pyinstrument (issue 8 posting speed).

Generates a day with benchmarks/generate.py, loads it into a fresh database with the real
``feeds.ingest.ingest_drop`` (validation off: this is about posting), and writes pyinstrument's
text and HTML reports next to the temporary folder's name in /tmp.

    .venv/bin/python -m benchmarks.profile_post --database postgresql --cards 20000 --transactions 200000
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    from pyinstrument import Profiler

    from benchmarks.generate import generate_day
    from benchmarks.run import _fresh_database
    from feeds.ingest import ingest_drop

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--cards", type=int, default=20_000)
    parser.add_argument("--transactions", type=int, default=200_000)
    parser.add_argument("--out", default="/tmp/careledger-profile")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="careledger-profile-"))
    try:
        gen = generate_day(workdir / "drops", cards=args.cards, transactions=args.transactions)
        url, cleanup = _fresh_database(args.database, workdir)
        try:
            profiler = Profiler(interval=0.005)
            start = time.perf_counter()
            profiler.start()
            summary = ingest_drop(url, gen.folder)
            profiler.stop()
            print(f"ingest {time.perf_counter() - start:.1f}s, posted {summary.total('rows_posted'):,}")
            out = Path(f"{args.out}-{args.database}")
            out.with_suffix(".txt").write_text(profiler.output_text(unicode=True, show_all=False), encoding="utf-8")
            out.with_suffix(".html").write_text(profiler.output_html(), encoding="utf-8")
            print(f"profile: {out}.txt / .html")
        finally:
            cleanup()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
