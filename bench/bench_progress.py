"""What the live progress of ``m6 corpus`` costs a stage (pipelines/progress.py), in one process.

    .venv/bin/python bench/bench_progress.py

``StageDoFn.process`` over the same documents, with progress reporting off (the baseline: the
DoFn as it runs for ``-q`` and on remote runners) and on (each record counted into the process's
``ProcessCounts``, a UDP datagram to a live ``ProgressMonitor`` at most twice a second). The
stage is the cheapest one the pipeline has, ``clean.markup`` (a few microseconds a document),
so the ratio is the worst case; a stage that does real work (kenlm, fasttext, an image decode)
hides the same fixed cost. Text: the sample's dumps (data/sample/dumps), repeated. Each figure is
the best of five runs, the two kinds interleaved, in CPU time of this process. Goal: within 5% of the baseline, like the
per-record budgets.
"""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus.clean.markup import StripMarkup  # noqa: E402
from corpus.document import Document  # noqa: E402
from pipelines.progress import ProgressMonitor, reporting_to  # noqa: E402
from pipelines.stage_dofn import StageDoFn  # noqa: E402

REPEAT = 60
ROUNDS = 5


def documents() -> list[Document]:
    docs = []
    for path in sorted((ROOT / "data" / "sample" / "dumps").glob("*.jsonl")):
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict) and isinstance(obj.get("text"), str) and obj["text"]:
                docs.append(Document(id=f"{path.stem}-{i}", source="forum", text=obj["text"],
                                     title=obj.get("title") if isinstance(obj.get("title"), str)
                                     else None))
    return docs * REPEAT


def once(dofn: StageDoFn, docs: list[Document]) -> float:
    t0 = time.process_time()
    for d in docs:
        for _out in dofn.process(d):
            pass
    dofn.finish_bundle()
    return time.process_time() - t0


def main() -> None:
    docs = documents()
    off = StageDoFn(StripMarkup())
    off.setup()
    monitor = ProgressMonitor("json", io.StringIO())
    with reporting_to(monitor.address):
        on = StageDoFn(StripMarkup())
    on.setup()
    monitor.start()
    t_off = t_on = float("inf")
    for _ in range(ROUNDS):  # interleaved, so a noisy neighbour hits both alike
        t_off = min(t_off, once(off, docs))
        t_on = min(t_on, once(on, docs))
    monitor.stop()
    rate_off, rate_on = len(docs) / t_off, len(docs) / t_on
    print(f"clean.markup over {len(docs):,} documents (best of {ROUNDS}, interleaved, "
          "CPU time)")
    print(f"  progress off (baseline)  {rate_off:12,.0f} docs/s")
    print(f"  progress on              {rate_on:12,.0f} docs/s")
    print(f"  ratio on / off           {rate_on / rate_off:12.3f}  (goal: >= 0.95)")


if __name__ == "__main__":
    main()
