"""Pairs in Chinese (issue 16.2): the Chinese candidate is chosen, a pair without one rejected."""

from __future__ import annotations

from corpus.document import ImageRef
from corpus.images.config import PairConfig, PairTextConfig
from corpus.images.pairs import compose_text
from corpus.images.records import ImagePair
from corpus.images.text import PairText
from schemas import RejectedRecord

CFG = PairConfig()
# Real documentation wording: an untranslated alt next to translated prose, as in manpages-zh
BEFORE = "下图显示了 ls 命令以长格式列出目录内容时每一列的含义。"
AFTER = "第一列是文件类型和权限，第二列是硬链接数。"


def ref(**kw) -> ImageRef:
    return ImageRef(url="https://example.com/a.png", **kw)


def test_the_chinese_candidate_is_preferred():
    # English alt and caption, Chinese prose around the image: the prose
    r = ref(alt="Output of ls -l", caption="Figure 3: long listing format",
            context_before=BEFORE, context_after=AFTER)
    assert compose_text(r, CFG) == f"{BEFORE} {AFTER}"
    # Chinese caption, longer English alt (together not mostly Chinese): the caption alone
    r = ref(alt="Output of the ls command with the -l option, in the long listing format",
            caption="图3：ls 命令的长格式输出", context_before=BEFORE)
    assert compose_text(r, CFG) == "图3：ls 命令的长格式输出"
    # mixed but mostly Chinese text is kept whole, as before
    r = ref(alt="Output of ls -l", caption="图3：ls 命令的长格式输出")
    assert compose_text(r, CFG) == "图3：ls 命令的长格式输出 Output of ls -l"
    r = ref(alt="故宫角楼的雪景", title="A snowy corner tower")
    assert compose_text(r, CFG) == "故宫角楼的雪景 A snowy corner tower"
    # no Chinese anywhere: the English text stays, for the text rule to judge
    r = ref(alt="Output of ls -l", context_before="See the figure below.")
    assert compose_text(r, CFG) == "Output of ls -l"
    # the old choice, when asked for
    r = ref(alt="Output of ls -l", context_before=BEFORE)
    assert compose_text(r, PairConfig(prefer_chinese=False)) == "Output of ls -l"


def test_a_pair_without_chinese_text_is_rejected_by_default():
    assert PairTextConfig().min_cjk_ratio == 0.5
    stage = PairText()
    english = ImagePair(id="p1", source="webpage", text="Output of ls -l in long format",
                        image_url="https://example.com/a.png")
    (r,) = stage.process(english)
    assert isinstance(r, RejectedRecord)
    assert (r.stage, r.reason) == ("clean.language", "not_chinese") and r.score == 0.0
    chinese = ImagePair(id="p2", source="webpage", text="图3：ls 命令的长格式输出",
                        image_url="https://example.com/a.png")
    (k,) = stage.process(chinese)
    assert not isinstance(k, RejectedRecord) and k.text == "图3：ls 命令的长格式输出"
    (kept,) = PairText(PairTextConfig(min_cjk_ratio=0.0)).process(english)
    assert not isinstance(kept, RejectedRecord)
