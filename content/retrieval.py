"""Search over lesson chunks. Everything that finds course text (tutor, quizzes, the search command) calls `search`.

The contract: `search(query, course=None, k=5) -> list[Hit]`, best first.
"""

from dataclasses import dataclass

from django.db.models import QuerySet
from pgvector.django import CosineDistance

from .embeddings import get_embedder
from .models import Chunk, Course


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    source: str  # the ingested file's name
    lesson: str  # lesson title
    section: str  # section heading
    text: str
    score: float
    url: str  # the section's URL (lesson page + anchor)
    language: str
    section_id: int
    lesson_id: int

    def as_json(self) -> dict:
        return {"source": self.source, "lesson": self.lesson, "section": self.section, "text": self.text,
                "score": round(self.score, 4), "url": self.url}


def _chunks(course: Course | str | None) -> QuerySet[Chunk]:
    chunks = Chunk.objects.select_related("section__lesson__source", "section__lesson__course")
    if isinstance(course, str):
        return chunks.filter(section__lesson__course__slug=course)
    if course is not None:
        return chunks.filter(section__lesson__course=course)
    return chunks


def _hit(chunk: Chunk, score: float) -> Hit:
    section = chunk.section
    lesson = section.lesson
    return Hit(chunk_id=chunk.id, source=lesson.source.name, lesson=lesson.title, section=section.heading,
               text=chunk.text, score=score, url=section.get_absolute_url(), language=lesson.language,
               section_id=section.id, lesson_id=lesson.id)


def search(query: str, course: Course | str | None = None, k: int = 5) -> list[Hit]:
    # First version: dense retrieval only; hybrid fusion with full text comes with the ingestion work.
    vector = get_embedder().query(query)
    rows = _chunks(course).annotate(distance=CosineDistance("embedding", vector)).order_by("distance")[:k]
    return [_hit(chunk, 1.0 - chunk.distance) for chunk in rows]
