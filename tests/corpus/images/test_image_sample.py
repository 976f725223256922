"""The sample e-commerce listing of `make corpus` (data/sample/ecommerce) goes through the image
path, without Beam, and every line ends as its ``expect`` field says."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from PIL import Image

from corpus.images.join import JoinImages, pair_key
from corpus.images.listing import ReadListingFile
from corpus.images.process import ProcessImages
from corpus.images.text import PairText
from corpus.stage import split
from schemas import ImageTextRecord, RejectedRecord

ROOT = Path(__file__).resolve().parents[3]
LISTING = ROOT / "data" / "sample" / "ecommerce" / "listing.jsonl"


def expectations() -> dict[int, str]:
    out = {}
    for lineno, line in enumerate(LISTING.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            out[lineno] = json.loads(line)["expect"]
        except ValueError:
            out[lineno] = "bad_json"
    return out


def test_every_listing_line_ends_as_expected():
    pairs, rejected = split(ReadListingFile().run([str(LISTING)]))
    cleaned, dropped = split(PairText().run(pairs))
    rejected += dropped
    groups = defaultdict(list)
    for p in cleaned:
        groups[pair_key(p)].append(p)
    jobs = [j for k, ps in sorted(groups.items()) for j in JoinImages().job(k, ps, [])]
    kept, dropped = split(ProcessImages().run(jobs))
    rejected += dropped
    offsets = {p.id: p.offset for p in pairs}
    got = {offsets[r.id]: "kept" for r in kept}
    got.update({r.offset: r.reason for r in rejected})
    assert got == expectations()
    for rec in kept:
        assert isinstance(rec, ImageTextRecord) and rec.source == "ecommerce"
        im = Image.open(io.BytesIO(rec.image))
        im.load()
        assert im.size == (rec.width, rec.height)
    assert all(isinstance(r, RejectedRecord) and r.kind == "image_text" for r in rejected)


def test_sample_listing_is_what_its_builder_builds():
    script = ROOT / "data" / "sample" / "ecommerce" / "build_listing.py"
    res = subprocess.run([sys.executable, str(script), "--check"], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
