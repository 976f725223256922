"""Settings of the image-text path: one frozen dataclass per step, nested in ``ImageConfig``.

Every threshold has its reason beside it. The defaults were checked on the real images in
``tests/fixtures/images`` (Pillow's test photos, which must pass) and on images made to fail
(flat, blurred, heavily compressed), see ``tests/corpus/images/test_image_quality.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


# Words of an image URL's path (maximal runs of letters and digits, lowercased) that mark site
# chrome rather than content. Each group is a rejection reason. Kept short and specific: a word
# like "star" or "share" would drop real photos ("star-wars-poster.jpg").
ICON_WORDS = ("icon", "icons", "favicon", "logo", "logos", "sprite", "sprites", "emoji",
              "emoticon", "emoticons", "smiley", "smilies", "avatar", "avatars", "badge", "badges",
              "btn", "button", "buttons", "loading", "loader", "spinner", "placeholder", "qrcode")
SPACER_WORDS = ("spacer", "blank", "transparent", "1x1", "clear", "shim", "trans")
TRACKING_WORDS = ("beacon", "tracking", "tracker", "pixel", "impression", "analytics")
TRACKING_HOSTS = ("google-analytics.com", "doubleclick.net", "hm.baidu.com", "cnzz.com",
                  "scorecardresearch.com", "quantserve.com", "pixel.wp.com", "stats.wp.com",
                  "googletagmanager.com", "mc.yandex.ru", "bat.bing.com", "facebook.com",
                  "analytics.twitter.com", "t.co")


@dataclass(frozen=True, kw_only=True)
class PairConfig:
    """Which ``<img>`` references become candidate pairs (``corpus.images.pairs``)."""

    tracking_max_side: int = 2  # declared 1x1 or 2x2: a tracking pixel
    icon_max_side: int = 48  # declared side at most this (and not a banner): an icon
    min_declared_pixels: int = 5000  # the paper's rule, applied early when the size is declared
    drop_extensions: tuple[str, ...] = (".svg", ".svgz", ".ico", ".cur")
    icon_words: tuple[str, ...] = ICON_WORDS
    spacer_words: tuple[str, ...] = SPACER_WORDS
    tracking_words: tuple[str, ...] = TRACKING_WORDS
    tracking_hosts: tuple[str, ...] = TRACKING_HOSTS
    max_pairs_per_page: int = 64  # more images than this on one page: the rest are dropped
    context_chars: int = 200  # characters of surrounding text taken on each side
    min_descriptive_chars: int = 5  # caption+alt+title shorter than this: context is added
    generic_alt: tuple[str, ...] = ("image", "img", "photo", "picture", "pic", "图片", "图像",
                                    "照片", "图", "无标题", "untitled", "null", "undefined")


@dataclass(frozen=True, kw_only=True)
class PairTextConfig:
    """Cleaning and length limits of the text of a pair (``corpus.images.text``).

    The text corpus drops contents under 15 characters (paper 2.3); a caption is much shorter than
    a passage ("故宫角楼的雪景" is 7 characters and a good caption), so pairs keep the same cleaning
    rules with their own limits. Text longer than ``max_chars`` is cut at the last sentence end
    before the limit (or at the limit when there is none): a caption is a sentence or two, and the
    model's target text is short.
    """

    min_chars: int = 5  # the paper's minimum title length, used for captions
    max_chars: int = 256
    min_cjk_ratio: float = 0.0  # 0 keeps English captions too; raise for a Chinese-only corpus
    use_corpus_cleaning: bool = True  # run the text corpus's cleaning stages (corpus.clean)


@dataclass(frozen=True, kw_only=True)
class DecodeConfig:
    """Safe decoding (``corpus.images.decode``)."""

    max_bytes: int = 20_000_000  # encoded size
    max_pixels: int = 40_000_000  # width*height checked from the header before any pixel is
    #                               decoded: a decompression bomb is refused, not allocated
    formats: tuple[str, ...] = ("JPEG", "MPO", "PNG", "GIF", "WEBP", "BMP", "TIFF")
    strict_jpeg: bool = True  # a JPEG header with bytes outside any marker segment (libjpeg's
    #                           "Corrupt JPEG data: extraneous bytes before marker") is rejected


@dataclass(frozen=True, kw_only=True)
class ImageFilterConfig:
    """Size, shape and quality thresholds (``corpus.images.filters``)."""

    min_pixels: int = 5000  # paper 2.3: "Only images with at least 5000 pixels are reserved"
    max_aspect_ratio: float = 3.0  # longer side / shorter side (banners, strips, skyscrapers)
    analysis_side: int = 256  # quality scores are computed at this longer side, so a threshold
    #                           means the same for a thumbnail and a 12-megapixel photo
    min_sharpness: float = 20.0  # variance of the Laplacian of the grey image at analysis_side:
    #                             a Gaussian blur of radius 3 on a 128-480 px photo gives 11-14
    min_entropy: float = 3.0  # bits of the grey-level histogram: flat and near-blank images
    min_colourfulness: float = 0.0  # Hasler-Suesstrunk M; 0 keeps greyscale photos
    min_jpeg_quality: float = 25.0  # estimated from the quantisation tables (JPEG only)
    content_classifier: str | None = None  # "package.module:factory", see filters.py


@dataclass(frozen=True, kw_only=True)
class NormaliseConfig:
    """What is stored (``corpus.images.normalise``)."""

    max_side: int = 512  # longer side; smaller images are not enlarged
    format: str = "JPEG"  # JPEG | WEBP | PNG
    quality: int = 90  # JPEG/WebP quality
    background: tuple[int, int, int] = (255, 255, 255)  # transparent pixels become this


@dataclass(frozen=True, kw_only=True)
class ImageConfig:
    """The image-text path as a whole."""

    pairs: PairConfig = field(default_factory=PairConfig)
    text: PairTextConfig = field(default_factory=PairTextConfig)
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    filters: ImageFilterConfig = field(default_factory=ImageFilterConfig)
    normalise: NormaliseConfig = field(default_factory=NormaliseConfig)
    # Download images referenced by pages but absent from the crawl. Off by default: `make corpus`
    # runs offline, and a crawl usually holds the images it wants. Listing URLs are downloaded
    # only when this is on, too; listing files on disk are always read.
    download: bool = False
    max_pages_per_image: int = 50  # one image on more pages than this is site chrome: dropped
