"""Search stays exact when the index is at its worst: a course re-ingested again and again leaves deleted copies of
the same vectors in the HNSW graph until vacuum, and the learner's own courses are a sliver of the table."""

import pytest
from django.db import connection

from content.models import Chunk, LessonRead
from content.retrieval import search
from tests.tutor.test_injection import planted_upload
from tutor import selectors

pytestmark = pytest.mark.django_db


def test_the_best_passage_is_found_among_thousands_of_deleted_copies(alice, course):
    copies = 20_000 // Chunk.objects.count()
    with connection.cursor() as cursor:
        # Re-ingestions' worth of deleted passages (20,000 in all): rows gone, their index entries left behind.
        cursor.execute(
            "INSERT INTO content_chunk (section_id, position, text, embedding, search_tokens, flagged) "
            "SELECT section_id, position + 1000 * copy, text, embedding, search_tokens, flagged "
            "FROM content_chunk, generate_series(1, %s) AS copy",
            [copies],
        )
        cursor.execute("DELETE FROM content_chunk WHERE position >= 1000")
    uploads, _report = planted_upload()
    LessonRead.objects.create(user=alice, course=uploads, lesson_slug="memory")
    hits = search(
        "What does gradient checkpointing trade for memory?", course=selectors.searchable_course_ids(user=alice)
    )
    best = Chunk.objects.filter(section__lesson__course=uploads).values_list("id", flat=True)
    assert hits[0].chunk_id in set(best), [hit.lesson for hit in hits]
