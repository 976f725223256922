"""``bench/runner_stages.py``: a real ``m6 corpus`` run on the sample's crawl with each of the
runner's fused stages timed, summed into phases by the step each stage reads first."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from bench.runner_stages import phase_of, short_name

ROOT = Path(__file__).resolve().parents[2]


def test_a_run_prints_its_phases_and_slowest_stages(tmp_path):
    argv = [sys.executable, str(ROOT / "bench" / "runner_stages.py"), "corpus",
            "--input", str(ROOT / "data" / "sample" / "crawl"), "--output", str(tmp_path / "out"),
            "--no-quality", "--no-report", "--quiet"]
    done = subprocess.run(argv, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out" / "manifest.json").exists()
    table = done.stderr[done.stderr.index("runner stages:"):].splitlines()
    head = re.match(r"runner stages: ([\d.]+) s in all, (\d+) bundles; before the first stage "
                    r"([\d.]+) s", table[0])
    assert head and int(head[2]) > 20 and 0 < float(head[3]) < float(head[1])
    phases = dict(re.match(r"\s+phase (\S+)\s+([\d.]+) s", ln).groups() for ln in table[1:]
                  if ln.lstrip().startswith("phase "))
    assert {"per-document", "dedup", "images", "writing"} <= set(phases)
    # the stage that reads the crawl runs extraction, cleaning and the rest of the per-document
    # steps: it is the slowest per-document stage, and named after its first steps
    slowest = [ln for ln in table[1:] if not ln.lstrip().startswith("phase ")]
    per_doc = next(ln for ln in slowest if " per-document " in ln)
    assert "CrawlSpread/ReshufflePerKey/GroupByKey/Read" in per_doc


def test_a_stage_is_named_and_placed_by_its_first_step():
    stage = ("(((Dedup/Join/Read)+(ref_AppliedPTransform_Dedup-Apply-Run_99))"
             "+(ref_AppliedPTransform_Write-Chunks_text0_101))+(Write/AllChunks/Write/0)")
    assert short_name(stage, 2) == "Dedup/Join/Read + Dedup-Apply-Run +2"
    assert phase_of(stage) == "dedup"  # not "writing", though it writes the shards' input
    assert phase_of("((Write/GroupByBucket/Read)+(ref_AppliedPTransform_Write-"
                    "WriteBucket_255))+(ref_AppliedPTransform_KeyWritten_256)") == "writing"
    assert phase_of("((ref_AppliedPTransform_CrawlFiles-Impulse_3)+(ref_AppliedPTransform_"
                    "CrawlFiles-FlatMap-lambda-at-core-py-4094-_4))") == "other"
