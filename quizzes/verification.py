"""The checks every question passes, generated or hand-written: question_problems() is the one entry point.

Each problem is "kind: what is wrong" in plain words (kinds: evidence, options, distractors, stem, duplicate), so a
rejected question explains itself in the admin and a report can count failures by kind.
"""

import re
from dataclasses import dataclass, field

import numpy as np

import textkit

NEAR_DUPLICATE = 0.95
# Upper-case NOT/EXCEPT is the classic flawed stem; "which … not" in any case, and the Chinese equivalents.
# Quoted text (a definition shown in the stem) is left out: "not" inside a definition is no negated stem.
NEGATION = re.compile(
    r"\b(NOT|EXCEPT)\b|(?i:\bwhich\b[^“\"?]{0,40}\b(not|except)\b)"
    r"|(哪|什么)[^“”]{0,8}(不是|不属于|不正确|错误)|错误的是|除了[^，,。“]{0,20}(以外|之外)[，,]?\s*(哪|什么)"
)
QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")
CATCH_ALL = re.compile(
    r"all of the above|none of the above|both a and b|以上都|以上皆|以上均|都不对|都对", re.IGNORECASE
)


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
    """Section text as a reader sees it: no Markdown emphasis or code marks, reference links as their words,
    spaces collapsed. An underscore inside a word ("GATEWAY_KEY") is the word's own."""
    text = re.sub(r"\[([^\]]+)\]\[[^\]]*\]", r"\1", text or "")
    text = re.sub(r"(?<!\w)_+|_+(?!\w)", "", re.sub(r"[*`]+", "", text))
    return re.sub(r"\s+", " ", text).strip()


def contains(haystack: str, needle: str) -> bool:
    return bool(textkit.fold(needle)) and textkit.fold(needle) in textkit.fold(haystack)


# The right option gives itself away when it is longer than every distractor by more than 40% and by more than
# 8 characters (both: "GPU" beside "CPU" is no outlier, nor are 30 characters beside 25).
LONGER_SHARE, LONGER_CHARS = 1.4, 8


def question_problems(item: dict, *, section_text: str | None = None) -> list[str]:
    """Every problem of one question, hand-written, generated or a learner's own, each as "kind: what is wrong".

    item has the Question's fields: type, prompt, options, answer (the right option's text, or for a hand-written
    file its index), and optionally accept and evidence. With section_text, the evidence must be quoted from it;
    without, the evidence checks are left out (a hand-written question names its section, it quotes none).
    """
    kind = item.get("type", "mcq")
    prompt = str(item.get("prompt", ""))
    options = [str(o) for o in item.get("options") or []] if kind == "mcq" else []
    answer = item.get("answer", "")
    problems: list[str] = []
    if kind == "mcq" and isinstance(answer, int) and not isinstance(answer, bool):
        if not 0 <= answer < len(options):
            return [
                f"options: the answer is option {answer}, but there are only {len(options)} options (0–"
                f"{len(options) - 1})"
            ]
        answer = options[answer]
    answer, evidence = str(answer), str(item.get("evidence") or "")
    if section_text is not None:
        problems += _evidence_problems(kind, answer, evidence, section_text)
    if kind == "mcq":
        problems += _option_problems(options, answer, evidence)
        problems += _distractor_problems(options, answer)
    problems += _stem_problems(kind, prompt, options, answer)
    return problems


def _evidence_problems(kind: str, answer: str, evidence: str, section_text: str) -> list[str]:
    if not evidence.strip():
        return ["evidence: no evidence span is quoted"]
    if not contains(plain(section_text), plain(evidence)):
        return ["evidence: the quoted evidence does not occur in the section"]
    if kind in {"cloze", "mcq"} and not contains(evidence, answer):
        return ["evidence: the evidence does not contain the answer"]
    return []


def _option_problems(options: list[str], answer: str, evidence: str) -> list[str]:
    problems = []
    if not 3 <= len(options) <= 4:
        problems.append(f"options: {len(options)} options; a multiple-choice question needs 3 or 4")
    folded: dict[str, str] = {}
    for option in options:
        if textkit.fold(option) in folded:
            problems.append(f"options: two options are the same (“{folded[textkit.fold(option)]}” and “{option}”)")
        folded.setdefault(textkit.fold(option), option)
    if sum(1 for o in options if o == answer) != 1:
        problems.append("options: the answer is not exactly one of the options")
    supported = [o for o in options if o != answer and evidence and contains(evidence, o)]
    if supported:
        problems.append(
            f"options: the evidence also supports a distractor (“{supported[0]}”), so more than one option is right"
        )
    return problems


def _distractor_problems(options: list[str], answer: str) -> list[str]:
    distractors = [o for o in options if o != answer]
    if not distractors or answer not in options:
        return []
    problems = []
    # Script, not language share: "运行 pip install -U accelerate" is a Chinese option among Chinese ones. Numbers
    # and formulas have no script; a distractor in the other script is one nobody would pick.
    chinese = bool(textkit.CJK.search(answer))
    foreign = [
        d
        for d in distractors
        if any(c.isalpha() for c in d) and any(c.isalpha() for c in answer) and bool(textkit.CJK.search(d)) != chinese
    ]
    if foreign:
        problems.append(
            f"distractors: “{foreign[0]}” is not in the answer's script "
            f"({'Chinese' if chinese else 'Latin'}), so it is easy to rule out"
        )
    longest = max(len(d) for d in distractors)
    if len(answer) > LONGER_SHARE * longest and len(answer) - longest > LONGER_CHARS:
        problems.append(
            f"distractors: the right option is the longest by far ({len(answer)} characters, the "
            f"longest distractor {longest}): a length outlier gives it away"
        )
    lengths = sorted(len(o) for o in options)
    if lengths[-1] > max(3 * lengths[0], lengths[0] + 24):
        problems.append("distractors: the options differ too much in length")
    return problems


def _stem_problems(kind: str, prompt: str, options: list[str], answer: str) -> list[str]:
    problems = []
    if NEGATION.search(QUOTED.sub(" ", prompt)):
        problems.append("stem: the stem asks for a negation (NOT / EXCEPT)")
    if CATCH_ALL.search(" ".join([prompt, *options])):
        problems.append("stem: an option is a catch-all (“all/none of the above”)")
    if kind == "cloze" and "____" not in prompt:
        problems.append("stem: the cloze has no blank")
    # Compared folded: case, full/half width and Traditional/Simplified do not hide the answer.
    if len(textkit.fold(answer)) >= 2 and contains(prompt.replace("____", " "), answer):
        problems.append("stem: the stem gives the answer away")
    return problems


def draft_problems(draft: Draft, *, section_text: str | None = None) -> list[str]:
    # A problem the generator already knows (a malformed model reply) comes first: nothing else can mend it.
    if draft.problem:
        return [draft.problem]
    return question_problems(
        {
            "type": draft.type,
            "prompt": draft.prompt,
            "options": draft.options,
            "answer": draft.answer,
            "accept": draft.accept,
            "evidence": draft.evidence,
        },
        section_text=section_text,
    )


def check_options(draft: Draft) -> str | None:
    problems = [p for p in draft_problems(draft) if p.startswith(("options:", "distractors:"))]
    return problems[0] if problems else None


def check_flaws(draft: Draft) -> str | None:
    problems = [p for p in draft_problems(draft) if p.startswith("stem:")]
    return problems[0] if problems else None


def check_duplicate(vector: np.ndarray, existing: np.ndarray, existing_ids: list[int]) -> str | None:
    if not len(existing):
        return None
    similarities = existing @ vector
    best = int(np.argmax(similarities))
    if similarities[best] >= NEAR_DUPLICATE:
        return f"duplicate: near-duplicate of question #{existing_ids[best]} (similarity {similarities[best]:.2f})"
    return None


def verify(draft: Draft, *, section_text: str) -> str | None:
    """The first problem of the draft, or None when it may be shown. The duplicate check runs separately."""
    problems = draft_problems(draft, section_text=section_text)
    return problems[0] if problems else None


def problem_kind(problem: str) -> str:
    return problem.split(":", 1)[0]


def problem_text(problem: str) -> str:
    """The problem in plain words, without its kind: what a learner is shown."""
    return problem.split(": ", 1)[-1]


def embedding_text(prompt: str, answer: str) -> str:
    return f"{prompt} {answer}"
