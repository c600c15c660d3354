"""The relevance check measured: how often the tutor answers what the course covers and declines what it does not."""

from dataclasses import dataclass
from pathlib import Path

import yaml

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
