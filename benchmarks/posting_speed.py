"""Before/after figures for the posting-speed work (issue 8), without rewriting docs/performance.md.

Runs the same ``benchmarks.run.benchmark`` that ``careledger bench`` runs (same generator, same floor,
same nightly path) and writes the result to ``benchmarks/results/posting_speed_<label>_<db>.json``.

    .venv/bin/python -m benchmarks.posting_speed --database postgresql --cards 20000 \
        --transactions 200000 --label after
"""

from __future__ import annotations

import argparse
import json

from benchmarks.run import RESULTS, benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", action="append", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--cards", type=int, default=20_000)
    parser.add_argument("--transactions", type=int, default=200_000)
    parser.add_argument("--label", required=True)
    parser.add_argument("--no-validate", action="store_true")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    for kind in args.database:
        result = benchmark(kind, cards=args.cards, transactions=args.transactions, validate=not args.no_validate)
        result["label"] = args.label
        result["validate"] = not args.no_validate
        path = RESULTS / f"posting_speed_{args.label}_{kind}.json"
        path.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
        s = result["ours"]["stages_s"]
        print(f"{kind} {args.label}: post {s.get('post', 0):.1f}s total {result['ours']['total_s']:.1f}s "
              f"floor {result['floor']['total_s']:.1f}s x{result['ratio_to_floor']} "
              f"postings/s {result['ours']['postings_per_s']:,} -> {path}", flush=True)


if __name__ == "__main__":
    main()
