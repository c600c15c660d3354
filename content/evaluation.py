"""Retrieval evaluation: recall@k of `search` over a set of questions with the passage that answers each."""

from dataclasses import dataclass
from pathlib import Path

import yaml

from textkit import normalize

from .retrieval import search


@dataclass
class Result:
    question: str
    found: bool
    rank: int | None


def load_questions(path: Path) -> list[dict]:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def recall_at_k(questions: list[dict], *, course, k: int = 5) -> tuple[float, list[Result]]:
    results = []
    for item in questions:
        snippet = normalize(item["snippet"])
        rank = next(
            (
                i + 1
                for i, hit in enumerate(search(item["q"], course=course, k=k))
                if hit.source == item["source"] and snippet in normalize(hit.text)
            ),
            None,
        )
        results.append(Result(question=item["q"], found=rank is not None, rank=rank))
    return (sum(r.found for r in results) / len(results) if results else 0.0), results
