"""A very long document (thousands of chunks) ingests in batches, through an OpenAI-compatible embedding server,
and is found by search to its last pages; a failure halfway leaves the lesson learners had before. A long file is
read from disk a piece at a time, into the same lesson as when read whole, and its memory stays flat."""

import random
import tracemalloc
from pathlib import Path

import pytest

from content import cleaning, readers, retrieval, services
from content.models import Chunk, Lesson
from content.structure import SECTION_MAX_CHARS, chunk, iter_sections
from llm.embeddings import get_embedder

DOCUMENTS = Path(__file__).resolve().parents[1] / "fixtures" / "documents"

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


def _noisy_notes(paragraphs: int) -> str:
    """A long Markdown export with what the cleaner looks for all through it: front matter, an author line, a menu
    line that comes back, boilerplate, Notion callouts, code with an "Author:" line in it, and a site tail."""
    rng = random.Random(5)
    out = ["---\ntitle: Team handbook\nurl: https://wiki.example.com/handbook\n---\n\n", "Author: Dana Reyes\n\n"]
    for i in range(paragraphs):
        if i % 7 == 0:
            out.append(f"## Part {i // 7 + 1}: {rng.choice(WORDS)}\n\n")
        if i % 9 == 4:
            out.append("Home · Docs · Blog\n\n")
        if i % 23 == 2:
            out.append("Copyright 2026 Example Inc. All rights reserved.\n\n")
        if i % 17 == 6:
            out.append(f"<aside>\n\nCallout {i}: the writer put this here on purpose.\n\n</aside>\n\n")
        if i % 29 == 8:
            out.append("```\nAuthor: in a code sample\nx = 1\n```\n\n")
        sentences = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))).capitalize() + "." for _ in "abc"]
        out.append(" ".join(sentences) + f" ({i})\r\n\r\n")
    out.append("## Related articles\n\n" + "".join(f"- [Post {i}](https://example.com/{i})\n" for i in range(8)))
    return "".join(out)


def _lesson(course):
    lesson = Lesson.objects.get(course=course)
    sections = [(s.heading, s.anchor, s.body) for s in lesson.sections.order_by("position")]
    chunks = list(
        Chunk.objects.filter(section__lesson=lesson).order_by("section__position", "position").values_list("text")
    )
    return lesson.title, lesson.source.author, lesson.source.url, lesson.language, sections, chunks


@pytest.mark.parametrize(
    "name",
    [
        "notes.md",
        "onboarding-wiki.md",
        "新员工入职指南 3f9a2c7e41b84d0a9e6b5c1d2f708a93.md",
        "oncall-handbook-gbk.txt",
        "finetuning-notes-big5.txt",
    ],
)
def test_a_long_file_read_in_pieces_becomes_the_lesson_it_makes_when_read_whole(
    name, openai_embeddings, tmp_path, monkeypatch
):
    # Small pieces, windows and thresholds, so short files take the long-file path through many pieces and windows.
    monkeypatch.setattr(readers, "STREAM_MIN_BYTES", 100)
    monkeypatch.setattr(readers, "PIECE_CHARS", 150)
    monkeypatch.setattr(readers, "HEAD_CHARS", 200)
    monkeypatch.setattr(cleaning, "PAGE_MAX_CHARS", 100)
    monkeypatch.setattr(cleaning, "WINDOW_CHARS", 700)
    monkeypatch.setattr(cleaning, "DROPPED_KEPT", 5)  # the noise lines past these are counted, not kept
    data = _noisy_notes(120).encode() if name == "notes.md" else (DOCUMENTS / name).read_bytes()
    (tmp_path / name).write_bytes(data)
    assert readers.read_path(tmp_path / name).pieces is not None, "the file is read in pieces"
    streamed, whole = services.course_get_or_create(slug="streamed"), services.course_get_or_create(slug="whole")

    [read_in_pieces] = services.paths_ingest(course=streamed, paths=[tmp_path]).files
    read_whole = services.file_ingest(course=whole, name=name, data=data)

    assert read_in_pieces.status == read_whole.status == "ingested"
    assert (read_in_pieces.sections, read_in_pieces.chunks, read_in_pieces.dropped) == (
        read_whole.sections,
        read_whole.chunks,
        read_whole.dropped,
    )
    assert _lesson(streamed) == _lesson(whole)
    if name == "notes.md":
        title, author, url, _, sections, _ = _lesson(streamed)
        assert (title, author, url) == ("Team handbook", "Dana Reyes", "https://wiki.example.com/handbook")
        bodies = "\n".join(body for _, _, body in sections)
        assert "Callout 6: the writer put this here on purpose." in bodies and "<aside>" not in bodies
        assert "Author: in a code sample" in bodies, "code is kept as written"
        assert "Home · Docs · Blog" not in bodies and "All rights reserved" not in bodies
        assert "Related articles" not in [heading for heading, _, _ in sections] and "Post 3" not in bodies


def _peak_memory_reading(path: Path) -> int:
    """Python's peak memory while a file is read, cleaned and cut into sections and chunks, as ingestion does."""
    tracemalloc.start()
    try:
        document = cleaning.clean(readers.read_path(path)).document
        pieces = document.pieces() if document.pieces else document.text
        for section in iter_sections(pieces, markdown=document.markdown, max_chars=SECTION_MAX_CHARS):
            chunk(section.body)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _without_headings(paragraphs: int, *, seed: int) -> str:
    """A transcript-like text: paragraph after paragraph and not one heading."""
    return "\n".join(line for line in long_document(paragraphs, seed=seed).splitlines() if not line.startswith("#"))


def _short_lines(lines: int, *, seed: int) -> str:
    """A glossary-like export: short lines, each different, every third a "share this" line the cleaner drops."""
    rng = random.Random(seed)
    return "\n\n".join(
        f"Share this on the team channel ({i})"
        if i % 3 == 0
        else f"{rng.choice(WORDS)} {i}: " + " ".join(rng.choice(WORDS) for _ in range(5))
        for i in range(lines)
    )


@pytest.mark.parametrize(
    "kind, text, lines",
    [
        ("md", long_document, 3000),  # paragraphs under a heading every few
        ("txt", _without_headings, 3000),  # paragraphs and no heading
        ("md", _short_lines, 25000),  # short lines, a third of them noise
    ],
)
def test_reading_a_long_file_takes_about_the_same_memory_however_long_it_is(kind, text, lines, tmp_path):
    short, long = tmp_path / f"short.{kind}", tmp_path / f"long.{kind}"
    short.write_text(text(lines, seed=1), encoding="utf-8")
    long.write_text(text(lines * 16 // 3, seed=2), encoding="utf-8")
    assert short.stat().st_size > readers.STREAM_MIN_BYTES and long.stat().st_size > 5 * short.stat().st_size
    _peak_memory_reading(short)  # modules load and caches fill on the first reading, not the measured ones

    short_peak, long_peak = _peak_memory_reading(short), _peak_memory_reading(long)

    assert long_peak < long.stat().st_size, "the document is never held whole, let alone in several copies"
    assert long_peak < 2 * short_peak, f"{long_peak} bytes for the long file, {short_peak} for one a fifth as long"


def test_a_long_text_without_headings_is_cut_into_parts_and_each_at_its_topics(
    openai_embeddings, tmp_path, monkeypatch
):
    monkeypatch.setattr(readers, "STREAM_MIN_BYTES", 100)
    monkeypatch.setattr(services, "SECTION_MAX_CHARS", 3000)
    text = _without_headings(60, seed=3)
    (tmp_path / "transcript.txt").write_text(text, encoding="utf-8")
    course = services.course_get_or_create(slug="long")

    [file] = services.paths_ingest(course=course, paths=[tmp_path]).files

    assert (file.status, file.reason) == ("ingested", "")
    bodies = list(Lesson.objects.get(course=course).sections.order_by("position").values_list("body", flat=True))
    assert len(bodies) > len(text) / 3000 and max(map(len, bodies)) < 3000 + 1000
    assert "\n".join(bodies).count("(") == text.count("("), "every paragraph is in a section, once"
