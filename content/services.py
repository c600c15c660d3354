"""Writes for content: ingesting files into lessons, sections and chunks; loading the shipped course; reading."""

import contextlib
import functools
import hashlib
import itertools
import logging
import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta
from pathlib import Path

import frontmatter
import yaml
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext

import textkit
from llm.embeddings import get_embedder

from . import tasks
from .cleaning import clean
from .injection import flagged_sentences
from .models import Chunk, Concept, Course, IngestionJob, Lesson, LessonRead, Section, Source
from .readers import ReadError, collect, is_streamed, page_name, read_bytes, read_path
from .rendering import http_url
from .signals import course_content_changed
from .structure import SECTION_MAX_CHARS, Document, chunk, images_as_alt_text, iter_sections, segment_by_topic

logger = logging.getLogger(__name__)

SHIPPED_COURSES = Path(__file__).resolve().parent / "courses"


@dataclass
class FileReport:
    name: str
    status: str  # "ingested", "unchanged" or "failed"
    reason: str = ""
    lessons: int = 0
    sections: int = 0
    chunks: int = 0
    dropped: int = 0  # noise blocks the cleaner removed
    flagged: list[str] = field(default_factory=list)  # instruction-like sentences, for staff to review


@dataclass
class IngestReport:
    files: list[FileReport] = field(default_factory=list)
    seconds: float = 0.0

    def total(self, attribute: str) -> int:
        return sum(getattr(f, attribute) for f in self.files)

    @property
    def failed(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "failed"]

    def as_json(self) -> dict:
        return {
            "files": [asdict(f) for f in self.files],
            "seconds": round(self.seconds, 2),
            "lessons": self.total("lessons"),
            "sections": self.total("sections"),
            "chunks": self.total("chunks"),
        }


@dataclass
class _PreparedSection:
    heading: str
    anchor: str
    body: str
    chunks: list[str]


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_hash(path: Path) -> str:
    """content_hash() of a file's bytes, read a block at a time."""
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def course_get_or_create(*, slug: str, title: str = "") -> Course:
    course, _ = Course.objects.get_or_create(slug=slug, defaults={"title": title or slug.replace("-", " ").title()})
    return course


# A long document is prepared, embedded and written this many chunks at a time, so the memory it takes is
# bounded by a batch rather than by the document.
INGEST_BATCH = 64


def _prepared_sections(document: Document, *, embedder, lesson_title: str) -> Iterator[_PreparedSection]:
    """The document's sections with their chunks, one at a time, as they are read."""
    if document.pieces is not None:
        sections = iter_sections(document.pieces(), markdown=document.markdown, max_chars=SECTION_MAX_CHARS)
    else:
        sections = iter_sections(document.text, markdown=document.markdown)
    first, second = next(sections, None), next(sections, None)
    if first is not None and second is None and not first.heading:
        sections = iter(segment_by_topic(first.body, embedder=embedder))
    else:
        sections = itertools.chain([s for s in (first, second) if s is not None], sections)
        # A long text without headings comes in parts: each is cut at its topics, as a short one is whole.
        sections = (
            topic
            for section in sections
            for topic in (
                segment_by_topic(section.body, embedder=embedder) if section.part and not section.heading else [section]
            )
        )
    seen = set()
    for section in sections:
        section.heading = section.heading or lesson_title
        anchor, n = section.anchor, 2
        while anchor in seen:
            anchor, n = f"{section.anchor}-{n}", n + 1
        seen.add(anchor)
        yield _PreparedSection(
            heading=section.heading[:300],
            anchor=anchor,
            body=section.body,
            chunks=chunk(images_as_alt_text(section.body)),
        )


def _lesson_write(
    *,
    course: Course,
    source: Source,
    slug: str,
    language: str,
    order: int,
    title: str,
    summary: str,
    citations: list,
    questions: list,
    sections: Iterable[_PreparedSection],
    embedder,
    document_title: str,
) -> tuple[int, int, list[str]]:
    """Create the lesson and write its sections and chunks in batches; returns the sections and chunks written and the
    instruction-like sentences found in them.

    Called inside the caller's transaction: the lesson becomes visible whole when it commits, never in part.
    """
    lesson = Lesson.objects.create(
        course=course,
        source=source,
        slug=slug,
        language=language,
        order=order,
        title=title[:300],
        summary=summary,
        citations=citations,
        questions=questions,
    )
    # The lesson and section titles travel with each passage: "LoRA" in a heading is context the passage lacks.
    context = f"{document_title} · " if document_title else ""
    waiting: list[_PreparedSection] = []
    pending: list[tuple[Section, int, str, str]] = []  # (section row, position, heading, text), not yet embedded
    written_sections = written_chunks = 0
    flagged: list[str] = []

    def write_sections() -> None:
        nonlocal written_sections
        rows = Section.objects.bulk_create(
            [
                Section(
                    lesson=lesson, position=written_sections + i, heading=s.heading, anchor=s.anchor[:120], body=s.body
                )
                for i, s in enumerate(waiting)
            ]
        )
        written_sections += len(rows)
        pending.extend(
            (row, j, s.heading, text) for row, s in zip(rows, waiting, strict=True) for j, text in enumerate(s.chunks)
        )
        waiting.clear()

    def write_chunks(batch: list[tuple[Section, int, str, str]]) -> None:
        nonlocal written_chunks
        vectors = embedder.passages([textkit.normalize(f"{context}{heading}\n{text}") for _, _, heading, text in batch])
        rows = []
        for (row, j, heading, text), vector in zip(batch, vectors, strict=True):
            found = flagged_sentences(text)
            flagged.extend(found)
            rows.append(
                Chunk(
                    section=row,
                    position=j,
                    text=text,
                    embedding=vector,
                    search_tokens=textkit.search_tokens(f"{heading}\n{text}"),
                    flagged=found,
                )
            )
        Chunk.objects.bulk_create(rows)
        written_chunks += len(batch)

    for section in sections:
        waiting.append(section)
        if sum(len(s.chunks) for s in waiting) >= INGEST_BATCH or len(waiting) >= INGEST_BATCH:
            write_sections()
        while len(pending) >= INGEST_BATCH:
            write_chunks(pending[:INGEST_BATCH])
            del pending[:INGEST_BATCH]
    write_sections()
    for start in range(0, len(pending), INGEST_BATCH):
        write_chunks(pending[start : start + INGEST_BATCH])
    return written_sections, written_chunks, flagged


def document_ingest(*, course: Course, document: Document, digest: str, embedder=None) -> FileReport:
    """Ingest one read file as one lesson. Unchanged (same hash) is a no-op; changed replaces only its own lessons."""
    embedder = embedder or get_embedder()
    existing = Source.objects.filter(course=course, name=document.name).first()
    if existing and existing.content_hash == digest:
        return FileReport(name=document.name, status="unchanged")
    cleaned = clean(document, embedder=embedder)
    doc = cleaned.document
    language = (
        doc.language if doc.language in {"en", "zh-hans", "zh-hant"} else textkit.detect_language(doc.head(20_000))
    )
    title = doc.title or page_name(document.name)
    sections = _prepared_sections(doc, embedder=embedder, lesson_title=title)
    first = next(sections, None)
    if first is None:
        return FileReport(name=document.name, status="failed", reason="no text was left after cleaning")
    url = http_url(doc.url)
    # One transaction for the whole lesson, however long: its sections are embedded and written batch by batch
    # inside it, so learners see the old lesson until the new one is complete, and a failure leaves nothing behind.
    with transaction.atomic():
        # Locking the course row serialises two ingestions of the same course (CLI and upload page at once).
        Course.objects.select_for_update().get(pk=course.pk)
        source, created = Source.objects.get_or_create(
            course=course,
            name=document.name,
            defaults={"title": title, "author": doc.author, "url": url, "language": language, "content_hash": digest},
        )
        order = (
            Lesson.objects.filter(source=source).aggregate(o=Max("order"))["o"]
            or (Lesson.objects.filter(course=course).aggregate(o=Max("order"))["o"] or 0) + 1
        )
        if not created:
            source.lessons.all().delete()
            source.title, source.author, source.url, source.language, source.content_hash = (
                title,
                doc.author,
                url,
                language,
                digest,
            )
            source.save(update_fields=["title", "author", "url", "language", "content_hash", "ingested_at"])
        slug = _free_slug(course, slugify(page_name(document.name)) or "lesson", source)
        citation = {"title": title, "author": doc.author, "url": url, "file": document.name}
        section_count, chunk_count, flagged = _lesson_write(
            course=course,
            source=source,
            slug=slug,
            language=language,
            order=order,
            title=title,
            summary="",
            citations=[citation],
            questions=[],
            sections=itertools.chain([first], sections),
            embedder=embedder,
            document_title=doc.title,
        )
    return FileReport(
        name=document.name,
        status="ingested",
        lessons=1,
        sections=section_count,
        chunks=chunk_count,
        dropped=cleaned.dropped_count,
        flagged=flagged,
    )


def _free_slug(course: Course, base: str, source: Source) -> str:
    slug, n = base[:110], 2
    while Lesson.objects.filter(course=course, slug=slug).exclude(source=source).exists():
        slug, n = f"{base[:105]}-{n}", n + 1
    return slug


def file_ingest(*, course: Course, name: str, data: bytes, embedder=None) -> FileReport:
    """Read, clean and ingest one file; a file that cannot be read comes back as a failed report, never raises."""
    return _read_and_ingest(
        course=course, name=name, read=lambda: read_bytes(name, data), digest=content_hash(data), embedder=embedder
    )


def _read_and_ingest(*, course: Course, name: str, read: Callable[[], Document], digest: str, embedder) -> FileReport:
    try:
        return document_ingest(course=course, document=read(), digest=digest, embedder=embedder)
    except ReadError as error:
        return FileReport(name=name, status="failed", reason=str(error))
    except SoftTimeLimitExceeded:
        raise  # the whole job ran out of time: that is the job's failure, not this file's
    except Exception as error:  # one bad file must not stop the others; the reason goes in the report
        logger.exception("ingesting %s failed", name)
        return FileReport(name=name, status="failed", reason=f"{type(error).__name__}: {error}")


def paths_ingest(
    *, course: Course, paths: Iterable, progress: Callable[[int, int, str], None] | None = None
) -> IngestReport:
    """Ingest files and folders into a course; `progress(done, total, name)` is called after each file.

    Files are read from disk as they are needed: a long text file a piece at a time (readers.read_path)."""
    started = time.monotonic()
    files = collect(paths)
    names = _source_names(files)
    report = IngestReport()
    embedder = get_embedder()
    for i, path in enumerate(files):
        try:
            # A long text file is hashed and read a block at a time; any other is read once, whole.
            if is_streamed(path):
                read, digest = functools.partial(_read_path_as, path, names[path]), file_hash(path)
            else:
                data = path.read_bytes()
                read, digest = functools.partial(read_bytes, names[path], data), content_hash(data)
        except OSError as error:
            report.files.append(
                FileReport(name=names[path], status="failed", reason=f"the file could not be opened ({error.strerror})")
            )
        else:
            report.files.append(
                _read_and_ingest(course=course, name=names[path], read=read, digest=digest, embedder=embedder)
            )
        if progress:
            progress(i + 1, len(files), names[path])
    report.seconds = time.monotonic() - started
    if report.total("lessons"):
        course_content_changed.send(sender=Course, course=course)
    return report


def _read_path_as(path: Path, name: str):
    return replace(read_path(path), name=name)


def _source_names(files: list[Path]) -> dict[Path, str]:
    """Each file's Source name: its own name, or, when another file in the batch has that name too
    ("team-a/overview.md", "team-b/overview.md"), its path from the folder they share, so neither replaces the other."""
    counts = Counter(path.name for path in files)
    clashing = [path.resolve().parent for path in files if counts[path.name] > 1]
    root = Path(os.path.commonpath(clashing)) if clashing else None
    return {path: path.resolve().relative_to(root).as_posix() if counts[path.name] > 1 else path.name for path in files}


def _uploaded_files(folder: str) -> list[Path]:
    """An upload's files, each by name, so every one is read and reported: a folder scan passes over a README and
    types it cannot read, which an uploader must hear about instead."""
    path = Path(folder)
    return sorted(path.iterdir()) if path.is_dir() else [path]


# The shipped course


def _language(value: str) -> str:
    return "en" if str(value).lower().startswith("en") else "zh-hans"


def shipped_course_load(
    *, folder: Path | None = None, progress: Callable[[int, int, str], None] | None = None
) -> IngestReport:
    """Load a course folder (course.yaml + NN-slug.LANG.md files): only changed files are rewritten.

    Each file is one Source and one Lesson; concepts are merged across the two languages by their
    position in the front matter (the files list them in the same order).
    """
    folder = folder or SHIPPED_COURSES / "llm-basics"
    started = time.monotonic()
    meta = yaml.safe_load((folder / "course.yaml").read_text(encoding="utf-8"))
    title, description = meta.get("title") or {}, meta.get("description") or {}
    course, _ = Course.objects.update_or_create(
        slug=meta["slug"],
        defaults={
            "title": title.get("en", meta["slug"]),
            "title_zh": title.get("zh", ""),
            "description": description.get("en", ""),
            "description_zh": description.get("zh", ""),
        },
    )
    embedder = get_embedder()
    report = IngestReport()
    files = [f for f in sorted(folder.glob("*.md")) if f.name.upper() != "FORMAT.MD"]
    raw = {path.name: path.read_bytes() for path in files}
    posts = {name: frontmatter.loads(data.decode("utf-8")) for name, data in raw.items()}
    textkit.add_terms(_all_terms(posts.values()))
    for i, path in enumerate(files):
        post = posts[path.name]
        digest = content_hash(raw[path.name])
        source = Source.objects.filter(course=course, name=path.name).first()
        if source and source.content_hash == digest:
            report.files.append(FileReport(name=path.name, status="unchanged"))
        else:
            report.files.append(
                _shipped_lesson_write(course=course, path=path, post=post, digest=digest, embedder=embedder)
            )
        if progress:
            progress(i + 1, len(files), path.name)
    stale = Source.objects.filter(course=course).exclude(name__in=[f.name for f in files])
    if any(f.status == "ingested" for f in report.files) or stale.exists():
        with transaction.atomic():
            stale.delete()
            _concepts_rebuild(course=course, posts=posts)
    report.seconds = time.monotonic() - started
    return report


def _all_terms(posts) -> list[str]:
    terms = []
    for post in posts:
        for concept in post.metadata.get("concepts") or []:
            terms.append(concept.get("term", ""))
            terms.extend(concept.get("aliases") or [])
    return terms


def shipped_concept_pairs(posts: dict):
    """(en file, en concept, zh file, zh concept) for each concept of a course folder's lessons: the two
    language files of a lesson list their concepts in the same order. A side may be (None, {})."""
    pairs: dict[str, dict[str, tuple]] = {}
    for name, post in posts.items():
        pairs.setdefault(str(post.metadata.get("slug")), {})[_language(post.metadata.get("language", "en"))] = (
            name,
            post,
        )
    for files in pairs.values():
        en_name, en_post = files.get("en", (None, None))
        zh_name, zh_post = files.get("zh-hans", (None, None))
        en_concepts = (en_post.metadata.get("concepts") if en_post else None) or []
        zh_concepts = (zh_post.metadata.get("concepts") if zh_post else None) or []
        for i in range(max(len(en_concepts), len(zh_concepts))):
            yield (
                en_name,
                en_concepts[i] if i < len(en_concepts) else {},
                zh_name,
                zh_concepts[i] if i < len(zh_concepts) else {},
            )


def _shipped_lesson_write(*, course: Course, path: Path, post, digest: str, embedder) -> FileReport:
    meta = post.metadata
    language = _language(meta.get("language", "en"))
    doc = Document(name=path.name, text=post.content, title=str(meta.get("title", "")), markdown=True)
    citations = [
        {
            "title": s.get("title", ""),
            "author": s.get("author", ""),
            "url": http_url(s.get("url", "")),
            "file": s.get("file", ""),
        }
        for s in meta.get("sources") or []
    ]
    with transaction.atomic():
        Course.objects.select_for_update().get(pk=course.pk)
        source, created = Source.objects.get_or_create(
            course=course,
            name=path.name,
            defaults={"title": doc.title, "language": language, "content_hash": digest, "author": "Primer"},
        )
        if not created:
            source.lessons.all().delete()
            source.title, source.language, source.content_hash = doc.title, language, digest
            source.save(update_fields=["title", "language", "content_hash", "ingested_at"])
        section_count, chunk_count, flagged = _lesson_write(
            course=course,
            source=source,
            slug=str(meta["slug"]),
            language=language,
            order=int(meta.get("order", 0)),
            title=doc.title,
            summary=str(meta.get("summary", "")),
            citations=citations,
            questions=list(meta.get("questions") or []),
            embedder=embedder,
            document_title=doc.title,
            sections=_prepared_sections(doc, embedder=embedder, lesson_title=doc.title),
        )
    return FileReport(
        name=path.name, status="ingested", lessons=1, sections=section_count, chunks=chunk_count, flagged=flagged
    )


def _concepts_rebuild(*, course: Course, posts: dict) -> None:
    """One Concept per idea: the English file gives term and definition, the Chinese file term_zh and definition_zh."""
    by_slug: dict[str, dict] = {}
    lessons = {(lesson.source.name): lesson for lesson in Lesson.objects.filter(course=course).select_related("source")}
    for en_name, en, zh_name, zh in shipped_concept_pairs(posts):
        term = en.get("term") or zh.get("term", "")
        slug = slugify(term, allow_unicode=True)[:120] or f"concept-{len(by_slug)}"
        entry = by_slug.setdefault(
            slug, {"term": term, "term_zh": "", "aliases": [], "definition": "", "definition_zh": "", "sections": []}
        )
        entry["definition"] = entry["definition"] or en.get("definition", "")
        entry["term_zh"] = entry["term_zh"] or zh.get("term", "")
        entry["definition_zh"] = entry["definition_zh"] or zh.get("definition", "")
        for alias in list(en.get("aliases") or []) + list(zh.get("aliases") or []):
            if alias not in entry["aliases"] and alias not in (entry["term"], entry["term_zh"]):
                entry["aliases"].append(alias)
        for name, concept in ((en_name, en), (zh_name, zh)):
            lesson = lessons.get(name)
            if lesson and concept.get("section"):
                entry["sections"].extend(lesson.sections.filter(heading=concept["section"]))
    Concept.objects.filter(course=course).exclude(slug__in=list(by_slug)).delete()
    for slug, entry in by_slug.items():
        sections = entry.pop("sections")
        concept, _ = Concept.objects.update_or_create(course=course, slug=slug, defaults=entry)
        concept.sections.set(sections)


def chunks_reindex(
    *, course: Course | None = None, batch: int = 64, progress: Callable[[int, int], None] | None = None
) -> int:
    """Re-embed every chunk (after the embedding model changed) and recompute its search tokens."""
    embedder = get_embedder()
    chunks = Chunk.objects.select_related("section__lesson").order_by("id")
    if course is not None:
        chunks = chunks.filter(section__lesson__course=course)
    ids = list(chunks.values_list("id", flat=True))
    for start in range(0, len(ids), batch):
        rows = list(chunks.filter(id__in=ids[start : start + batch]))
        vectors = embedder.passages(
            [textkit.normalize(f"{c.section.lesson.title} · {c.section.heading}\n{c.text}") for c in rows]
        )
        for row, vector in zip(rows, vectors, strict=False):
            row.embedding = vector
            row.search_tokens = textkit.search_tokens(f"{row.section.heading}\n{row.text}")
        Chunk.objects.bulk_update(rows, ["embedding", "search_tokens"])
        if progress:
            progress(min(start + batch, len(ids)), len(ids))
    return len(ids)


def lesson_mark_read(*, user, lesson: Lesson) -> LessonRead:
    read, _ = LessonRead.objects.get_or_create(user=user, course=lesson.course, lesson_slug=lesson.slug)
    return read


def ingestion_job_create(*, course: Course, user, files) -> IngestionJob:
    """Save uploaded files to their own folder and queue their ingestion once this transaction commits.

    The files stay until the job is done, so a failed job can be run again.
    """
    folder = Path(settings.MEDIA_ROOT) / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    for upload in files:
        # Only the base name: a browser-supplied path must not choose where the file lands.
        target = folder / Path(upload.name).name
        with target.open("wb") as out:
            for piece in upload.chunks():
                out.write(piece)
    job = IngestionJob.objects.create(course=course, created_by=user, folder=str(folder), files_total=len(files))
    _job_send_on_commit(job.id)
    return job


def ingestion_job_retry(*, job: IngestionJob, user) -> IngestionJob | None:
    """A new run of a failed job's files; None when the job has not failed or its files are gone."""
    if job.status != IngestionJob.Status.FAILED or not job.files_exist:
        return None
    retry = IngestionJob.objects.create(
        course=job.course, created_by=user, folder=job.folder, files_total=job.files_total
    )
    _job_send_on_commit(retry.id)
    return retry


def _job_send_on_commit(job_id: int) -> None:

    def send():
        try:
            _job_send(job_id)
        except Exception as error:  # noqa: BLE001 -- broker down: the job row is the record, the reaper resends it
            logger.warning("could not queue ingestion job %s (%s); the reaper sends it later", job_id, error)

    transaction.on_commit(send)


def _job_send(job_id: int) -> None:
    # Celery writes the time limits into the message, from the sending process, and the worker obeys those over
    # its own settings: so they are named here, from the settings as they are when the job is sent.
    tasks.ingestion_job_run.apply_async(
        (job_id,), soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT, time_limit=settings.CELERY_TASK_TIME_LIMIT
    )


def ingestion_job_run(*, job_id: int, run_id: str, soft_time_limit: float | None = None) -> None:
    """Claim the job, ingest its folder, and record progress, the report and how it ended.

    `soft_time_limit` is the limit this run was given (the message's), named in the reason when it runs out.

    The claim is a conditional UPDATE: a queued job, or one this very message claimed before (a message is
    delivered again only when the worker running it was lost). Any other delivery is a no-op.
    """
    now = timezone.now()
    # A run killed again and again (out of memory, past the hard time limit) is redelivered each time: stop it.
    if IngestionJob.objects.filter(
        id=job_id, status=IngestionJob.Status.RUNNING, run_id=run_id, attempts__gte=JOB_MAX_ATTEMPTS
    ).exists():
        _job_fail(
            job_id,
            gettext(
                "The worker stopped %(attempts)s times while ingesting these files; try again, or "
                "upload them in smaller batches."
            )
            % {"attempts": JOB_MAX_ATTEMPTS},
        )
        return
    # The soft limit is a signal raised wherever the run happens to be, even in the claim, so the whole run is
    # inside the handler. A library that catches Exception could swallow it: each file boundary checks the clock.
    deadline = time.monotonic() + (soft_time_limit or settings.CELERY_TASK_SOFT_TIME_LIMIT)
    try:
        claimed = IngestionJob.objects.filter(
            Q(status=IngestionJob.Status.QUEUED) | Q(status=IngestionJob.Status.RUNNING, run_id=run_id),
            id=job_id,
        ).update(status=IngestionJob.Status.RUNNING, run_id=run_id, attempts=F("attempts") + 1, last_progress_at=now)
        if not claimed:
            return
        job = IngestionJob.objects.select_related("course").get(id=job_id)

        def progress(done: int, total: int, name: str) -> None:
            IngestionJob.objects.filter(id=job_id).update(
                files_done=done, files_total=total, current_file=name[:300], last_progress_at=timezone.now()
            )
            if done < total and time.monotonic() > deadline:
                raise SoftTimeLimitExceeded()

        report = paths_ingest(course=job.course, paths=_uploaded_files(job.folder), progress=progress)
        IngestionJob.objects.filter(id=job_id).update(
            status=IngestionJob.Status.DONE, report=report.as_json(), current_file="", finished_at=timezone.now()
        )
    except SoftTimeLimitExceeded:
        _job_fail(
            job_id,
            gettext("It took longer than the %(seconds)s s a job may run. Upload fewer files at once.")
            % {"seconds": f"{soft_time_limit or settings.CELERY_TASK_SOFT_TIME_LIMIT:g}"},
        )
        return
    except Exception as error:
        _job_fail(job_id, f"{type(error).__name__}: {error}")
        raise
    if not IngestionJob.objects.filter(folder=job.folder).exclude(status=IngestionJob.Status.DONE).exists():
        shutil.rmtree(job.folder, ignore_errors=True)  # done: the uploaded files are in the database now


def _job_fail(job_id: int, reason: str) -> None:
    """Record why the job ended. An interrupted query can leave this process's connection unusable (mid-command,
    or in a transaction that is being rolled back), so when the write fails it is made once more on a new one."""
    for last_try in (False, True):
        try:
            # A job recorded done keeps that: its files are in, whatever interrupted the run after.
            IngestionJob.objects.filter(id=job_id).exclude(status=IngestionJob.Status.DONE).update(
                status=IngestionJob.Status.FAILED, error=reason[:2000], finished_at=timezone.now()
            )
            return
        except DatabaseError:
            if last_try:
                raise
            logger.warning("recording job %s's failure on a new database connection", job_id)
            with contextlib.suppress(Exception):  # closing a broken connection can fail too; it is dropped anyway
                connection.close()


# A queued job whose message went missing (a worker took it and died, or the broker was down) is sent again
# after this long; a running one is dead once nothing moved for longer than a task may run.
JOB_QUEUED_RESEND_AFTER = timedelta(minutes=5)
JOB_MAX_ATTEMPTS = 3


def ingestion_jobs_reap(*, now=None) -> dict:
    """Every minute (beat): resend queued jobs that waited too long, requeue running jobs that stopped making
    progress (a limited number of times), and fail the rest with the reason."""

    now = now or timezone.now()
    stalled_after = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    counts = {"resent": 0, "requeued": 0, "failed": 0}
    waiting = IngestionJob.objects.filter(
        status=IngestionJob.Status.QUEUED, last_progress_at__lt=now - JOB_QUEUED_RESEND_AFTER
    )
    stalled = IngestionJob.objects.filter(status=IngestionJob.Status.RUNNING, last_progress_at__lt=now - stalled_after)
    for job in list(waiting) + list(stalled):
        was_running = job.status == IngestionJob.Status.RUNNING
        if was_running and job.attempts >= JOB_MAX_ATTEMPTS:
            changed = IngestionJob.objects.filter(
                id=job.id, status=job.status, last_progress_at=job.last_progress_at
            ).update(
                status=IngestionJob.Status.FAILED,
                finished_at=now,
                error=gettext(
                    "The worker stopped %(attempts)s times while ingesting these files; try again, or upload "
                    "them in smaller batches."
                )
                % {"attempts": job.attempts},
            )
            counts["failed"] += changed
            continue
        # Conditional on what we read: a worker that moves the job on meanwhile keeps it.
        changed = IngestionJob.objects.filter(
            id=job.id, status=job.status, last_progress_at=job.last_progress_at
        ).update(status=IngestionJob.Status.QUEUED, run_id="", last_progress_at=now)
        if changed:
            try:
                _job_send(job.id)
            except Exception as error:  # noqa: BLE001 -- still no broker: the next round tries again
                logger.warning("could not queue ingestion job %s (%s)", job.id, error)
            counts["requeued" if was_running else "resent"] += 1
    return counts
