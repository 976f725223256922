"""Getting the crawl (issue 14): Common Crawl records selected from its columnar URL index and
fetched by HTTP range requests (``cc_*`` modules). Pure parts only; the Beam wiring is in
``pipelines/crawl_cc.py``."""
