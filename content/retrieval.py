"""Search over lesson chunks. Everything that finds course text (tutor, quizzes, the search command) calls `search`.

The contract: `search(query, course=None, k=5) -> list[Hit]`, best first.

Hybrid: a dense ranking (pgvector HNSW, cosine) and a full-text ranking (jieba tokens in a 'simple'
tsvector) are fused with reciprocal rank fusion. Both sides see Traditional folded to Simplified,
so a Simplified question finds the Traditional Bishop chapter; the multilingual embeddings let an
English question find a Chinese passage.
"""

from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection, transaction
from django.db.models import F, QuerySet
from pgvector.django import CosineDistance

import textkit
from llm.embeddings import get_embedder

from . import glossary
from .models import Chunk, Course

RRF_K = 60  # the constant from Cormack et al.; it damps the difference between ranks 1 and 2
CANDIDATES = 40  # taken from each ranking before fusion
EF_SEARCH = 100  # HNSW candidate list: well above CANDIDATES so recall stays close to an exact scan
# A search over at most this many passages reads every one (p50 10 ms at 20,000: bench_content_search). The index is
# approximate, and worst where a filter keeps few of its rows or where re-ingested courses leave deleted copies of
# the same vectors in its graph until vacuum: there it can miss the best passage outright.
EXACT_SCAN_MAX = 20_000


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
        return {
            "source": self.source,
            "lesson": self.lesson,
            "section": self.section,
            "text": self.text,
            "score": round(self.score, 4),
            "url": self.url,
        }


def course_chunks(course: Course | str | list[int] | None) -> QuerySet[Chunk]:
    """Chunks of one course (object or slug), of the courses with these ids, or of every course (None)."""
    chunks = Chunk.objects.all()
    if isinstance(course, (list, tuple, set, frozenset)):
        return chunks.filter(section__lesson__course_id__in=list(course))
    if isinstance(course, str):
        return chunks.filter(section__lesson__course__slug=course)
    if course is not None:
        return chunks.filter(section__lesson__course=course)
    return chunks


def _hit(chunk: Chunk, score: float) -> Hit:
    section = chunk.section
    lesson = section.lesson
    return Hit(
        chunk_id=chunk.id,
        source=lesson.source.name,
        lesson=lesson.title,
        section=section.heading,
        text=chunk.text,
        score=score,
        url=section.get_absolute_url(),
        language=lesson.language,
        section_id=section.id,
        lesson_id=lesson.id,
    )


def dense_ids(
    query: str, course: Course | str | None = None, limit: int = CANDIDATES, *, query_vector=None
) -> list[int]:
    vector = query_vector if query_vector is not None else get_embedder().query(textkit.normalize(query))
    chunks = course_chunks(course).exclude(embedding=None)
    with transaction.atomic(), connection.cursor() as cursor:
        # SET LOCAL lasts for this transaction only.
        if chunks.count() <= EXACT_SCAN_MAX:
            cursor.execute("SET LOCAL enable_indexscan = off")  # the HNSW index is an index scan; this reads all
        else:
            # Iterative scans keep the index useful when a course filter removes most of the neighbours it finds first.
            cursor.execute(f"SET LOCAL hnsw.ef_search = {EF_SEARCH}")
            cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        rows = (
            chunks.annotate(distance=CosineDistance("embedding", vector))
            .order_by("distance")
            .values_list("id", flat=True)[:limit]
        )
        return list(rows)


def text_ids(query: str, course: Course | str | None = None, limit: int = CANDIDATES) -> list[tuple[int, float]]:
    words = textkit.query_tokens(query)
    if not words:
        return []
    # Any word may match (OR); ts_rank_cd rewards passages where many of them occur close together.
    tsquery = SearchQuery(
        " | ".join(w.replace("'", "''").join("''") for w in words), search_type="raw", config="simple"
    )
    rows = (
        course_chunks(course)
        .filter(search_vector=tsquery)
        .annotate(rank=SearchRank(F("search_vector"), tsquery, cover_density=True))
        .order_by("-rank", "id")
        .values_list("id", "search_tokens")[:limit]
    )
    return [(chunk_id, _coverage(words, tokens)) for chunk_id, tokens in rows]


def _coverage(words: list[str], tokens: str) -> float:
    """The share of the question's words a passage contains: one shared word ("data") is weak evidence."""
    present = set(tokens.split())
    return sum(1 for w in words if w in present) / len(words)


def expanded_query(query: str) -> str:
    """The question plus the other language's names of the concepts it names (glossary.expand), which both
    the full-text side and the embedded query use."""
    return " ".join([query, *glossary.expand(query)])


def embed_query(query: str):
    """The query vector `search` would compute, for callers that also need it (the tutor)."""
    return get_embedder().query(textkit.normalize(expanded_query(query)))


def search(query: str, course: Course | str | None = None, k: int = 5, *, query_vector=None) -> list[Hit]:
    """`query_vector` lets a caller that already embedded the question (the tutor) skip a second embedding."""
    query = (query or "").strip()
    if not query:
        return []
    scores: dict[int, float] = {}
    expanded = expanded_query(query)
    if query_vector is None:
        query_vector = get_embedder().query(textkit.normalize(expanded))  # as embed_query does
    for rank, chunk_id in enumerate(dense_ids(query, course, query_vector=query_vector)):
        scores[chunk_id] = 1.0 / (RRF_K + rank + 1)
    # Reciprocal rank fusion, the full-text side weighted by how much of the question a passage covers.
    for rank, (chunk_id, coverage) in enumerate(text_ids(expanded, course)):
        scores[chunk_id] = scores.get(chunk_id, 0.0) + coverage / (RRF_K + rank + 1)
    best = sorted(scores, key=lambda chunk_id: (-scores[chunk_id], chunk_id))[:k]
    chunks = Chunk.objects.select_related("section__lesson__source", "section__lesson__course").in_bulk(best)
    return [_hit(chunks[chunk_id], scores[chunk_id]) for chunk_id in best if chunk_id in chunks]
