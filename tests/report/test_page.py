"""The page's own rules that need no browser: a bounded rejected section however many reasons,
and charts that far outliers do not squash."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from report.collect import collect
from report.page import MAX_REASONS, render
from report.thresholds import thresholds
from schemas.arrow import REJECTED_SCHEMA


def test_thousands_of_reasons_draw_the_largest_and_one_other_bar(tmp_path, write_manifest):
    rows = [{"id": f"r{i}-{j}", "source": "forum", "kind": "text", "stage": "foreign",
             "reason": f"reason_{i:04d}", "text": f"拒绝的文字 {i}"}
            for i in range(1000) for j in range(1 + (i % 7 == 0) * 5)]
    (tmp_path / "rejected").mkdir()
    pq.write_table(pa.Table.from_pylist(rows, schema=REJECTED_SCHEMA),
                   tmp_path / "rejected" / "part-0.parquet")
    figs = collect(str(write_manifest(tmp_path)))
    html = render(figs, thresholds(None))
    section = html[html.index('id="rejected"'):]
    section = section[:section.index("</section>")]
    assert section.count("<details>") == MAX_REASONS
    # the 143 reasons with 6 rows are the largest; 1000 - 60 others make up the rest
    shown = set(re.findall(r"reason_(\d{4})", section))
    assert len(shown) == MAX_REASONS and all(int(i) % 7 == 0 for i in shown)
    rest = 1000 - MAX_REASONS
    rest_rows = len(rows) - 6 * MAX_REASONS
    assert f"{rest:,} other reasons" in section and f"{rest_rows:,} records" in section
    assert len(html) < 200_000


def test_an_outlier_image_score_is_counted_off_the_axis_not_drawn(tmp_path, write_manifest):
    import hashlib

    from schemas.arrow import IMAGE_TEXT_SCHEMA
    from schemas.image_column import with_image_structs

    image = (Path(__file__).resolve().parents[1] / "fixtures" / "images" / "hopper.jpg")
    data = image.read_bytes()
    rows = [{"id": f"p{i}", "source": "webpage", "text": "图片说明", "image": data,
             "format": "jpeg", "width": 128, "height": 128, "orig_width": 128,
             "orig_height": 128, "sha256": hashlib.sha256(data).hexdigest(), "n_chars": 4,
             "n_tokens": 4, "colourfulness": 1e7 if i == 0 else float(i)} for i in range(300)]
    (tmp_path / "image_text").mkdir()
    pq.write_table(pa.Table.from_pylist(with_image_structs(rows), schema=IMAGE_TEXT_SCHEMA),
                   tmp_path / "image_text" / "part-0.parquet")
    html = render(collect(str(write_manifest(tmp_path)), samples=1), thresholds(None))
    chart = re.search(r'<svg class="chart"[^>]*aria-label="colourfulness.*?</svg>', html).group()
    assert "kept (1 off the axis)" in chart
    assert len(re.findall(r"<rect [^>]*fill-opacity", chart)) <= 200
