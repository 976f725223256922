"""Getting the crawl (issue 14): the pure parts of ``m6 crawl``, with no Beam in them.

``urls`` (normalisation, hosts, registered domains), ``robots`` (robots.txt rules and the
decision for each answer), ``sitemaps`` (URL lists and sitemaps, gzipped or not), ``links``
(links of a page within the seeds' domains), ``warc_out`` (WARC/1.1 files written under a
temporary name and renamed when complete), ``fetch_log`` (the Parquet fetch log shared by both
crawl routes), ``host`` (one host's crawl: robots, politeness, redirects), ``state`` (what a rerun
still has to do). The Beam wiring is ``pipelines/crawl_urls.py``.

Common Crawl by index and range (``m6 crawl cc``): ``cc_config`` (its settings), ``cc_index``
(selection from the columnar URL index), ``cc_fetch`` (one record by range, verified),
``cc_output`` (WARC batches, log, resumption, manifest). The Beam wiring is
``pipelines/crawl_cc.py``.
"""
