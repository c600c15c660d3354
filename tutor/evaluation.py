"""The tutor measured on our own questions: how often it answers what the course covers and declines what it does not
(relevance_rates), and how often an offline answer opens with the sentence that answers (lead_rates)."""

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

import textkit

from . import answering


@dataclass
class Rates:
    answered: float  # of the in-scope questions, the share the tutor answers
    declined: float  # of the out-of-scope questions, the share it declines
    wrong: list[str]  # the questions it got wrong

    def __str__(self) -> str:
        return f"answers {self.answered:.1%} of in-scope, declines {self.declined:.1%} of out-of-scope"


def load_questions(path: Path, *, half: str | None = None) -> list[dict]:
    questions = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return [q for q in questions if half is None or q["half"] == half]


def relevance_rates(questions: list[dict], *, course) -> Rates:
    answered = declined = 0
    wrong = []
    for item in questions:
        relevant = answering.prepare(item["q"], course=course).relevant
        if relevant == item["in_scope"]:
            answered += relevant
            declined += not relevant
        else:
            wrong.append(item["q"])
    in_scope = sum(1 for q in questions if q["in_scope"])
    out_of_scope = len(questions) - in_scope
    return Rates(
        answered=answered / in_scope if in_scope else 0.0,
        declined=declined / out_of_scope if out_of_scope else 0.0,
        wrong=wrong,
    )


# Where the offline answer's first sentence ends: at its first citation.
FIRST_CITED = re.compile(r"(.+?)\s*\[(\d+)\]", re.DOTALL)


@dataclass
class Leads:
    correct: int  # questions whose offline answer opens with a sentence that has the expected words
    cited: int  # answered questions whose opening sentence cites a passage that was retrieved for it
    answered: int  # questions the tutor did not decline
    total: int
    wrong: list[tuple[str, str]]  # (question, the sentence it opened with)
    contained: int = 0  # questions whose answer has a sentence with the expected words anywhere, first or not

    def __str__(self) -> str:
        return (
            f"{self.correct}/{self.total} lead correctly, {self.contained}/{self.total} have the answering sentence "
            f"somewhere, {self.cited}/{self.answered} answered cite a retrieved passage"
        )


def opening(text: str) -> tuple[str, int | None]:
    """The first sentence of an offline answer and the passage it cites."""
    match = FIRST_CITED.match(text)
    return (match.group(1), int(match.group(2))) if match else (text, None)


def leads_with(sentence: str, expected: list) -> bool:
    """`expected` is a list of words the sentence must all contain, or a list of such lists, any of which will do."""
    alternatives = expected if expected and isinstance(expected[0], list) else [expected]
    text = textkit.normalize(sentence)
    return any(all(textkit.normalize(word) in text for word in words) for words in alternatives)


def lead_rates(questions: list[dict], *, course) -> Leads:
    correct = cited = contained = 0
    wrong = []
    for item in questions:
        prepared = answering.prepare(item["q"], course=course)
        if not prepared.relevant:
            wrong.append((item["q"], "(declined)"))
            continue
        text = answering.finish(answering.offline_answer(prepared), prepared).text
        sentence, number = opening(text)
        cited += number in {p.number for p in prepared.passages}
        contained += any(leads_with(piece, item["lead"]) for piece in answering.CITATION.sub("\n", text).splitlines())
        if leads_with(sentence, item["lead"]):
            correct += 1
        else:
            wrong.append((item["q"], sentence))
    answered = len(questions) - sum(1 for _, sentence in wrong if sentence == "(declined)")
    return Leads(
        correct=correct, cited=cited, answered=answered, total=len(questions), wrong=wrong, contained=contained
    )
