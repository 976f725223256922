"""The download stage: a batch of ``ImageJob``s in, the same jobs with bytes or a status out.

Beam hands the stage batches (``pipelines.batches.Batches``) so one worker downloads ``threads``
URLs at a time through one ``Fetcher`` (and one per-host politeness gate); a job that is not
marked for download, or whose image is on too many pages to be kept anyway, passes through
untouched. A failed download is not dropped here: its status (``http_404``, ``timeout``,
``too_large``, ...) goes on the job and ``ProcessImages`` rejects each of its pairs with it
(stage ``image_fetch``), so every URL's outcome is counted per reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

from corpus.fetch.client import Fetcher
from corpus.fetch.config import FetchConfig
from corpus.images.join import needs_download
from corpus.images.records import ImageJob
from corpus.stage import Stage


class FetchImages(Stage):
    """``list[ImageJob]`` -> each ``ImageJob``, downloaded where it needed to be."""

    name: ClassVar[str] = "image_fetch"

    def __init__(self, cfg: FetchConfig | None = None, max_pages_per_image: int = 50):
        self.cfg = cfg or FetchConfig()
        self.max_pages_per_image = max_pages_per_image
        self._fetcher: Fetcher | None = None

    def setup(self) -> None:
        if self._fetcher is None:
            self._fetcher = Fetcher(self.cfg)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_fetcher"] = None  # locks and an SSL context: rebuilt by setup() on the worker
        return state

    def _wanted(self, job: ImageJob) -> bool:
        return needs_download(job) and len({p.url for p in job.pairs}) <= self.max_pages_per_image

    def process(self, record: list[ImageJob] | ImageJob) -> Iterator[ImageJob]:
        self.setup()
        jobs = record if isinstance(record, list) else [record]
        todo = [j for j in jobs if self._wanted(j)]
        results = dict(zip((id(j) for j in todo),
                           self._fetcher.fetch_many(j.key for j in todo)))
        for job in jobs:  # new jobs: Beam may reuse its input elements
            r = results.get(id(job))
            if r is None:
                yield job
            else:
                yield dataclasses.replace(job, body=r.body if r.ok else None,
                                          content_type=r.content_type, fetch_status=r.status)
