"""Visual question answering (paper section 4.2): the image on the encoder side, the question
in the decoder with the paper's prompt pattern, the answer decoded after it.

"We turn the origin questions to the designed pattern, with typical tokens such as '?' and
'Answer:'": the decoder input is ``[BOS] 问题？回答：`` and the model continues with the answer
(``vqa_prompt``). The pretrained model answers this way without fine-tuning (Figure 8);
fine-tuning (``m6 finetune vqa``) trains on (image, question, answer) rows of a JSONL file with
the loss on the answer tokens only -- the prompt is given, not predicted.

Accuracy: the generated answer (greedy) and the reference are normalised (NFKC, lower case,
punctuation and spaces removed, a trailing 的 dropped: 红色的 = 红色) and compared for equality;
a row may give several acceptable answers in ``answers``. The paper's FMIQA figures are human
judgements, which an automatic exact match can only approximate.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np

from model.apps.caption import decode_row_image
from model.apps.finetune import App, LoadedApp
from model.apps.rows import RowSource
from model.data.batch import IGNORE_INDEX, Batch, Example, collate
from model.data.tasks import TASK_ID
from model.data.tokenizer import M6Tokenizer
from model.infer.generate import SamplingConfig, generate

QUESTION_MARK = "？"
ANSWER_CUE = "回答："
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def vqa_prompt(question: str) -> str:
    """The paper's pattern: the question, a full-width question mark, then ``回答：``."""
    q = question.strip().rstrip("?？ \t")
    if not q:
        raise ValueError("empty question")
    return q + QUESTION_MARK + ANSWER_CUE


def normalize_answer(text: str) -> str:
    t = _PUNCT.sub("", unicodedata.normalize("NFKC", text or "").lower())
    return t[:-1] if len(t) > 1 and t.endswith("的") else t


def answer_correct(answer: str, references: list[str]) -> bool:
    a = normalize_answer(answer)
    return bool(a) and any(a == normalize_answer(r) for r in references)


def references_of(row: dict[str, Any]) -> list[str]:
    refs = row.get("answers")
    if isinstance(refs, list) and refs:
        return [str(r) for r in refs]
    return [str(row["answer"])] if row.get("answer") else []


@dataclass(frozen=True, kw_only=True)
class VQAApp(App):
    name: str = "vqa"
    max_answer_tokens: int = 16

    def prepare(self, row, tok: M6Tokenizer, image_size: int):
        refs = references_of(row)
        if not row.get("question") or not refs:
            return None
        prompt = tok.encode(vqa_prompt(str(row["question"])))
        room = min(self.max_answer_tokens, self.max_text_tokens - len(prompt))
        if room < 1:  # prompt and answer must fit the decoder's max_text_tokens
            return None
        answer = tok.encode(refs[0])[:room]
        image = decode_row_image(row, image_size)
        if not answer or image is None:
            return None
        return prompt, answer, image

    def collate(self, items, tok: M6Tokenizer, image_size: int, rng: np.random.Generator) -> Batch:
        task = TASK_ID["image_to_text"]
        batch = collate([Example(task=task, target_ids=p + a, image=img) for p, a, img in items],
                        pad_id=tok.pad_id, bos_id=tok.bos_id, eos_id=tok.eos_id,
                        image_size=image_size)
        for i, (p, _, _) in enumerate(items):
            batch.labels_BT[i, : len(p)] = IGNORE_INDEX  # the prompt is given, not learnt
        return batch


def answer(model, tok: M6Tokenizer, image, question: str, *, max_new_tokens: int = 16,
           sampling: SamplingConfig | None = None, seed: int = 0) -> str:
    """The model's answer to ``question`` about ``image`` (a model input tensor)."""
    sampling = sampling or SamplingConfig(max_new_tokens=max_new_tokens, greedy=True)
    ids = generate(model, prompt_ids=tok.encode(vqa_prompt(question)), bos_id=tok.bos_id,
                   eos_id=tok.eos_id, banned_ids=(tok.pad_id, tok.bos_id, tok.mask_id),
                   image=image, sampling=sampling, seed=seed)[0]
    return tok.decode(ids)


def evaluate_vqa(loaded: LoadedApp, source: RowSource, *, split: str = "val",
                 val_fraction: float | None = None, limit: int | None = None,
                 max_new_tokens: int = 16) -> dict[str, Any]:
    """Exact-match accuracy of greedy answers on the held-out questions of ``source``."""
    vf = loaded.val_fraction if val_fraction is None else val_fraction
    size = loaded.config.model.image.image_size
    correct = total = 0
    by_type: dict[str, list[int]] = {}
    examples = []
    for row in source.rows(split, val_fraction=vf, limit=limit):
        refs = references_of(row)
        image = decode_row_image(row, size)
        if not row.get("question") or not refs or image is None:
            continue
        got = answer(loaded.model, loaded.tokenizer, image, str(row["question"]),
                     max_new_tokens=max_new_tokens)
        ok = answer_correct(got, refs)
        correct += ok
        total += 1
        t = by_type.setdefault(str(row.get("type", "all")), [0, 0])
        t[0] += ok
        t[1] += 1
        if len(examples) < 8:
            examples.append({"question": row["question"], "answer": got, "references": refs,
                             "correct": ok})
    if not total:
        raise ValueError(f"no {split} questions in {source.description} (val_fraction {vf})")
    return {"app": "vqa", "split": split, "questions": total, "accuracy": correct / total,
            "accuracy_by_type": {k: c / n for k, (c, n) in sorted(by_type.items())},
            "examples": examples}
