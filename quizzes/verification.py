"""Automatic checks every generated question passes before a learner can see it.

Each check returns the reason it failed, in plain words, so a rejected question explains itself in the admin.
"""

import re
from dataclasses import dataclass, field

import numpy as np

from .grading import normalise

NEAR_DUPLICATE = 0.95
# Upper-case NOT/EXCEPT is the classic flawed stem; "which … not" in any case, and the Chinese equivalents.
# Quoted text (a definition shown in the stem) is left out: "not" inside a definition is no negated stem.
NEGATION = re.compile(r"\b(NOT|EXCEPT)\b|(?i:\bwhich\b[^“\"?]{0,40}\b(not|except)\b)"
                      r"|(哪|什么)[^“”]{0,8}(不是|不属于|不正确|错误)|错误的是|除了[^，,。“]{0,20}(以外|之外)[，,]?\s*(哪|什么)")
QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")
CATCH_ALL = re.compile(r"all of the above|none of the above|both a and b|以上都|以上皆|以上均|都不对|都对", re.IGNORECASE)


@dataclass
class Draft:
    """A generated question before it is saved: what the generators produce and the checks read."""

    type: str
    prompt: str
    answer: str
    evidence: str
    options: list[str] = field(default_factory=list)
    accept: list[str] = field(default_factory=list)
    explanation: str = ""
    concepts: list = field(default_factory=list)
    difficulty: int = 2
    key: str = ""
    problem: str = ""  # set by a generator that already knows the draft is unusable (a malformed model reply)


def plain(text: str) -> str:
    """Section text as a reader sees it: no Markdown emphasis or code marks, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"[*_`]+", "", text or "")).strip()


def contains(haystack: str, needle: str) -> bool:
    return bool(normalise(needle)) and normalise(needle) in normalise(haystack)


def check_evidence(draft: Draft, section_text: str) -> str | None:
    if not draft.evidence.strip():
        return "no evidence span is quoted"
    if not contains(plain(section_text), plain(draft.evidence)):
        return "the quoted evidence does not occur in the section"
    if draft.type in {"cloze", "mcq"} and not contains(draft.evidence, draft.answer):
        return "the evidence does not contain the answer"
    return None


def check_options(draft: Draft) -> str | None:
    if draft.type != "mcq":
        return None
    options = draft.options
    if not 3 <= len(options) <= 4:
        return f"{len(options)} options; a multiple-choice question needs 3 or 4"
    if len({normalise(o) for o in options}) != len(options):
        return "two options are the same"
    if sum(1 for o in options if o == draft.answer) != 1:
        return "the answer is not exactly one of the options"
    lengths = sorted(len(o) for o in options)
    if lengths[-1] > max(3 * lengths[0], lengths[0] + 24):
        return "the options differ too much in length"
    supported = [o for o in options if o != draft.answer and contains(draft.evidence, o)]
    if supported:
        return f"the evidence also supports a distractor (“{supported[0]}”), so more than one option is right"
    return None


def check_flaws(draft: Draft) -> str | None:
    text = " ".join([draft.prompt, *draft.options])
    if NEGATION.search(QUOTED.sub(" ", draft.prompt)):
        return "the stem asks for a negation (NOT / EXCEPT)"
    if CATCH_ALL.search(text):
        return "an option is a catch-all (“all/none of the above”)"
    if draft.type == "cloze" and "____" not in draft.prompt:
        return "the cloze has no blank"
    if len(normalise(draft.answer)) >= 2 and contains(draft.prompt.replace("____", " "), draft.answer):
        return "the stem gives the answer away"
    return None


def check_duplicate(vector: np.ndarray, existing: np.ndarray, existing_ids: list[int]) -> str | None:
    if not len(existing):
        return None
    similarities = existing @ vector
    best = int(np.argmax(similarities))
    if similarities[best] >= NEAR_DUPLICATE:
        return f"near-duplicate of question #{existing_ids[best]} (similarity {similarities[best]:.2f})"
    return None


def verify(draft: Draft, *, section_text: str) -> str | None:
    """The first reason the draft fails, or None when it may be shown. The duplicate check runs separately."""
    return draft.problem or check_evidence(draft, section_text) or check_options(draft) or check_flaws(draft)


def embedding_text(prompt: str, answer: str) -> str:
    return f"{prompt} {answer}"
