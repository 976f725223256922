"""Image-text pairs (paper 2.3, Table 3): mine pairs from pages and listings, join or download
the image bytes, decode safely, filter by size and quality, normalise, and build ``image_text``
rows.

The path, stage by stage (each a plain ``corpus.stage.Stage``; ``pipelines/images.py`` wires them
in Beam):

``MinePairs`` (pairs.py) -> ``PairText`` (text.py) -> join by URL with the crawl's image records
(``JoinImages``, join.py; listings via ``ReadListingFile``, listing.py) -> ``FetchImages``
(``corpus.fetch``, optional) -> ``ProcessImages`` (process.py: decode.py, filters.py,
quality.py, normalise.py) -> ``ImageTextRecord``.
"""

from corpus.images.config import (
    DecodeConfig,
    ImageConfig,
    ImageFilterConfig,
    NormaliseConfig,
    PairConfig,
    PairTextConfig,
)
from corpus.images.records import ImageJob, ImagePair

__all__ = [
    "DecodeConfig",
    "ImageConfig",
    "ImageFilterConfig",
    "ImageJob",
    "ImagePair",
    "NormaliseConfig",
    "PairConfig",
    "PairTextConfig",
]
