"""A very long document (thousands of chunks) ingests in batches, through an OpenAI-compatible embedding server,
and is found by search to its last pages; a failure halfway leaves the lesson learners had before."""

import random

import pytest

from content import retrieval, services
from content.models import Chunk, Lesson
from llm.embeddings import get_embedder

pytestmark = pytest.mark.django_db

WORDS = (
    "attention token vector layer weight gradient softmax matrix batch model context window decoder encoder "
    "prompt sample loss rank head residual norm embedding logit beam cache query key value step"
).split()
LAST_SENTENCE = "The quokka ledger reconciles every zephyr invoice before the harbour opens."


def long_document(paragraphs: int, *, seed: int = 7, closing: str = LAST_SENTENCE) -> str:
    """Markdown with a heading every few paragraphs, each paragraph different; `closing` sits in the last part."""
    rng = random.Random(seed)
    parts = ["# Field notes\n"]
    for i in range(paragraphs):
        if i % 6 == 0:
            parts.append(f"## Part {i // 6 + 1}: {rng.choice(WORDS)} and {rng.choice(WORDS)}\n")
        sentences = [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))).capitalize() + f" ({i}.{j})."
            for j in range(rng.randint(3, 6))
        ]
        if i == paragraphs - 3:
            sentences.insert(1, closing)
        parts.append(" ".join(sentences) + "\n")
    return "\n".join(parts)


@pytest.fixture
def openai_embeddings(fake_openai, settings):
    settings.EMBEDDING_BACKEND = "openai"
    settings.EMBEDDING_BASE_URL = fake_openai.base_url
    settings.EMBEDDING_MODEL = "fake-e5"
    get_embedder.cache_clear()
    yield fake_openai
    get_embedder.cache_clear()


def test_a_document_of_thousands_of_chunks_is_ingested_and_its_last_pages_are_found(openai_embeddings, tmp_path):
    (tmp_path / "field-notes.md").write_text(long_document(4000), encoding="utf-8")
    course = services.course_get_or_create(slug="long")

    report = services.paths_ingest(course=course, paths=[tmp_path])

    [file] = report.files
    assert (file.status, file.reason, file.lessons) == ("ingested", "", 1)
    assert file.chunks > 2000 and file.sections > 600
    lesson = Lesson.objects.get(course=course)
    assert lesson.sections.count() == file.sections
    assert Chunk.objects.filter(section__lesson=lesson).count() == file.chunks
    assert not Chunk.objects.filter(section__lesson=lesson, embedding=None).exists(), "every chunk has its vector"
    hits = retrieval.text_ids("quokka ledger zephyr invoice", course)
    assert hits, "the sentence near the end is found by full-text search"
    found = Chunk.objects.select_related("section").get(id=hits[0][0])
    assert LAST_SENTENCE in found.text
    assert found.section.position > 0.9 * file.sections, "it sits in the document's last part"
    batch_sizes = [len(r["body"]["input"]) for r in openai_embeddings.requests if r["path"].endswith("/embeddings")]
    assert len(batch_sizes) > file.chunks / services.INGEST_BATCH, "embedded batch by batch"


class EmbeddingServerGoesAway:
    """The embedding server answering for a while, then failing (as a server restarted mid-ingestion does)."""

    def __init__(self, inner, answers: int):
        self.inner, self.dimensions, self.answers = inner, inner.dimensions, answers

    def passages(self, texts):
        self.answers -= 1
        if self.answers < 0:
            raise ConnectionError("the embedding server went away")
        return self.inner.passages(texts)

    def query(self, text):
        return self.inner.query(text)


def test_a_long_document_that_fails_halfway_leaves_the_lesson_learners_had(openai_embeddings, tmp_path):
    course = services.course_get_or_create(slug="long")
    path = tmp_path / "field-notes.md"
    path.write_text(long_document(300), encoding="utf-8")
    services.paths_ingest(course=course, paths=[tmp_path])
    chunk_ids = Chunk.objects.filter(section__lesson__course=course).order_by("id").values_list("id", flat=True)
    before = list(chunk_ids)

    changed = long_document(3000, seed=8, closing="A changed edition that never finished ingesting.")
    report = services.file_ingest(
        course=course,
        name="field-notes.md",
        data=changed.encode(),
        embedder=EmbeddingServerGoesAway(get_embedder(), answers=10),
    )

    assert report.status == "failed" and "went away" in report.reason
    assert list(chunk_ids.all()) == before, "the lesson learners had is untouched"
    assert not retrieval.text_ids("changed edition never finished", course)
