"""The long fuzz run (issue 15.9): every mutation class of ``tests/fuzz/fuzz_harness.py`` with many
seeds, through the real corpus stages in-process.

``make test`` runs each class with a few fixed seeds; this runs ``--seeds`` per class (seeds
disjoint from the test's, starting at ``--first-seed``), prints per input format and class the
cases tried, the cases that failed an invariant (a crash, a case past its budget, a good record
lost, a mutated record dropped silently, a refused path kept) with the first failure, and the
median and maximum seconds per case as a ratio to the ``unchanged`` class of the same format run
in the same process (the same check on the unmutated input: the baseline). A class far above 1x
is a place where hostile input costs more than good input: a budget candidate.

Classes that cost seconds per case until their records are budgeted (``deep_html``) get
``--expensive-seeds`` seeds. Run: ``.venv/bin/python bench/bench_fuzz.py [--seeds 25]`` (10 by default: about a minute).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))

import fuzz_harness as h  # noqa: E402

EXPENSIVE = ("deep_html",)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=10, help="seeds per class (default 10)")
    p.add_argument("--first-seed", type=int, default=1000,
                   help="first seed (default 1000; make test uses 0-3)")
    p.add_argument("--expensive-seeds", type=int, default=2,
                   help=f"seeds for {', '.join(EXPENSIVE)} (default 2)")
    p.add_argument("--only", nargs="*", help="formats or classes to run")
    args = p.parse_args(argv)

    t0 = time.perf_counter()
    results = h.run_all(args.seeds, args.first_seed, set(args.only) if args.only else None,
                        caps={c: args.expensive_seeds for c in EXPENSIVE})
    elapsed = time.perf_counter() - t0

    by: dict[tuple[str, str], list[h.Result]] = defaultdict(list)
    for r in results:
        by[(r.fmt, r.cls)].append(r)
    base = {fmt: statistics.median(r.seconds for r in rs)
            for (fmt, cls), rs in by.items() if cls == "unchanged"}
    print(f"Fuzz: {len(results)} cases, {len(by)} classes over {len(base)} formats, "
          f"{elapsed:.1f} s; seconds per case as a ratio to the format's 'unchanged' baseline")
    print(f"{'format':8s} {'class':24s} {'cases':>5s} {'failed':>6s} {'median':>8s} "
          f"{'max':>8s}  first failure")
    for (fmt, cls), rs in by.items():
        failed = [r for r in rs if r.problem]
        b = base.get(fmt) or float("nan")
        med = statistics.median(r.seconds for r in rs) / b
        worst = max(r.seconds for r in rs) / b
        first = f"seed {failed[0].seed}: {failed[0].problem[:90]}" if failed else ""
        print(f"{fmt:8s} {cls:24s} {len(rs):5d} {len(failed):6d} {med:7.1f}x {worst:7.1f}x  "
              f"{first}")
    failed = [r for r in results if r.problem]
    classes = sorted({(r.fmt, r.cls) for r in failed})
    print(f"\n{len(failed)} of {len(results)} cases failed, in {len(classes)} classes"
          + (": " + ", ".join(f"{f}/{c}" for f, c in classes) if classes else ""))
    print("baseline seconds per case: " + ", ".join(f"{f} {b * 1000:.1f} ms"
                                                    for f, b in base.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
