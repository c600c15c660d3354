from pathlib import Path

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from pgvector.django import HnswIndex, VectorField

from .structure import images_as_alt_text


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    SIMPLIFIED_CHINESE = "zh-hans", _("Simplified Chinese")
    TRADITIONAL_CHINESE = "zh-hant", _("Traditional Chinese")


class Course(models.Model):
    slug = models.SlugField(unique=True)
    title = models.CharField(_("title"), max_length=200)
    title_zh = models.CharField(_("Chinese title"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    description_zh = models.TextField(_("Chinese description"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("course_detail", args=[self.slug])

    def title_in(self, language: str) -> str:
        return self.title_zh if language.startswith("zh") and self.title_zh else self.title

    def description_in(self, language: str) -> str:
        return self.description_zh if language.startswith("zh") and self.description_zh else self.description


class Source(models.Model):
    """One ingested file or URL. Its content hash makes re-ingesting an unchanged file a no-op."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="sources")
    name = models.CharField(
        _("file name"), max_length=300, help_text=_("The ingested file's name, as search results cite it.")
    )
    title = models.CharField(_("title"), max_length=300, blank=True)
    author = models.CharField(_("author or site"), max_length=300, blank=True)
    url = models.URLField(max_length=1000, blank=True)
    language = models.CharField(max_length=10, choices=Language.choices, default=Language.SIMPLIFIED_CHINESE)
    content_hash = models.CharField(max_length=64)
    ingested_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["course", "name"], name="source_unique_name_per_course")]

    def __str__(self) -> str:
        return self.title or self.name


class Lesson(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="lessons")
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="lessons")
    slug = models.SlugField(max_length=120)
    language = models.CharField(max_length=10, choices=Language.choices)
    order = models.PositiveIntegerField(default=0)
    title = models.CharField(_("title"), max_length=300)
    summary = models.TextField(_("summary"), blank=True)
    # The articles a lesson draws on: [{"title", "author", "url", "file"}].
    citations = models.JSONField(default=list, blank=True)
    # Hand-written review questions carried by the lesson file, as written there (see FORMAT.md);
    # the quizzes app turns them into Questions.
    questions = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["course", "order", "language"]
        constraints = [
            models.UniqueConstraint(fields=["course", "slug", "language"], name="lesson_unique_slug_language")
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("lesson_detail", args=[self.course.slug, self.slug]) + f"?lang={self.language}"


class Section(models.Model):
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="sections")
    position = models.PositiveIntegerField()
    heading = models.CharField(max_length=300)
    anchor = models.SlugField(max_length=120, allow_unicode=True)
    body = models.TextField(help_text=_("Markdown"))

    class Meta:
        ordering = ["lesson", "position"]

    def __str__(self) -> str:
        return self.heading

    def get_absolute_url(self) -> str:
        return f"{self.lesson.get_absolute_url()}#{self.anchor}"

    @property
    def text(self) -> str:
        """The body as a reader reads it, a diagram as its alt text: what questions are built from and checked on."""
        return images_as_alt_text(self.body)


class Chunk(models.Model):
    """A passage of a section: the unit of retrieval, with its embedding and its full-text tokens."""

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="chunks")
    position = models.PositiveIntegerField()
    text = models.TextField()
    embedding = VectorField(dimensions=settings.EMBEDDING_DIMENSIONS, null=True)
    # jieba-segmented, Simplified-normalised tokens joined by spaces, for a 'simple' tsvector.
    search_tokens = models.TextField(blank=True)
    # Instruction-like sentences found at ingestion (content.injection), for staff to review; the tutor never
    # quotes them nor sends them to the language model.
    flagged = models.JSONField(default=list, blank=True)
    search_vector = models.GeneratedField(
        expression=models.Func(
            models.Value("simple"),
            models.F("search_tokens"),
            function="to_tsvector",
            output_field=SearchVectorField(),
        ),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["section", "position"]
        indexes = [
            HnswIndex(
                name="chunk_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
            GinIndex(fields=["search_vector"], name="chunk_search_vector_gin"),
        ]

    def __str__(self) -> str:
        return self.text[:60]


class Concept(models.Model):
    """A glossary term, the same idea in both languages ("LoRA" / "低秩适配")."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="concepts")
    slug = models.SlugField(max_length=120)
    term = models.CharField(max_length=200)
    term_zh = models.CharField(max_length=200, blank=True)
    aliases = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    definition = models.TextField(blank=True)
    definition_zh = models.TextField(blank=True)
    sections = models.ManyToManyField(Section, related_name="concepts", blank=True)

    class Meta:
        ordering = ["term"]
        constraints = [models.UniqueConstraint(fields=["course", "slug"], name="concept_unique_slug_per_course")]

    def __str__(self) -> str:
        return self.term

    def term_in(self, language: str) -> str:
        return self.term_zh if language.startswith("zh") and self.term_zh else self.term

    def definition_in(self, language: str) -> str:
        return self.definition_zh if language.startswith("zh") and self.definition_zh else self.definition


class LessonRead(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lessons_read")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    lesson_slug = models.SlugField(max_length=120, help_text=_("Reading a lesson in either language counts."))
    read_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "course", "lesson_slug"], name="lesson_read_once")]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.lesson_slug}"


class IngestionJob(models.Model):
    """An upload waiting for, or going through, ingestion; the upload page polls it for progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="ingestion_jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    folder = models.CharField(max_length=500, help_text=_("Where the uploaded files were saved."))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    files_total = models.PositiveIntegerField(default=0)
    files_done = models.PositiveIntegerField(default=0)
    current_file = models.CharField(max_length=300, blank=True)
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # For the reaper (content.services.ingestion_jobs_reap): when the job was queued or last moved on, which
    # message runs it (a redelivered message may take its own job back), and how many runs it has had.
    last_progress_at = models.DateTimeField(default=timezone.now)
    run_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"ingestion {self.pk} into course {self.course_id}: {self.status}"

    @property
    def files_exist(self) -> bool:
        return Path(self.folder).is_dir()

    @property
    def percent(self) -> int:
        return round(100 * self.files_done / self.files_total) if self.files_total else 0

    @property
    def finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}
