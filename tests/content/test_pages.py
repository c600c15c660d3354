import shutil
from pathlib import Path

import pytest
from django.urls import reverse

from content import services
from content.models import Concept, Course, LessonRead

SHIPPED = Path(services.SHIPPED_COURSES) / "llm-basics"


@pytest.fixture
def course(db, tmp_path):
    """The shipped course's course.yaml and its LoRA lesson in both languages (all of it takes minutes to embed)."""
    for name in ["course.yaml", "10-lora-and-matrix-rank.en.md", "10-lora-and-matrix-rank.zh.md"]:
        shutil.copy(SHIPPED / name, tmp_path / name)
    services.shipped_course_load(folder=tmp_path)
    return Course.objects.get(slug="llm-basics")


def test_the_shipped_course_loads_lessons_sections_questions_and_merged_concepts(course):
    lessons = {lesson.language: lesson for lesson in course.lessons.all()}
    assert set(lessons) == {"en", "zh-hans"}
    assert lessons["en"].sections.count() >= 3 and len(lessons["en"].questions) >= 5
    assert lessons["zh-hans"].citations[0]["file"] == "000_989a64ee7514cafa.txt"
    rank = Concept.objects.get(course=course, term="rank")
    assert rank.term_zh == "秩" and rank.definition and rank.definition_zh
    assert {s.lesson.language for s in rank.sections.all()} == {"en", "zh-hans"}


def test_loading_the_unchanged_course_again_is_a_no_op(course, tmp_path):
    report = services.shipped_course_load(folder=tmp_path)
    assert {f.status for f in report.files} == {"unchanged"}


def test_alice_reads_the_lesson_in_english_and_in_chinese(client, alice, course):
    client.force_login(alice)
    url = reverse("lesson_detail", args=["llm-basics", "lora-and-matrix-rank"])
    english = client.get(url + "?lang=en").content.decode()
    assert "<h1>LoRA and matrix rank</h1>" in english
    assert 'class="concept"' in english and "data-definition=" in english
    assert "/tutor/?lesson=" in english and reverse("today_lesson_start") in english
    chinese = client.get(url + "?lang=zh-hans").content.decode()
    assert "LoRA 与矩阵的秩" in chinese and "cheaterlin" in chinese
    assert ">English</a>" in chinese and ">中文</a>" in english


def test_alice_sees_the_lesson_in_her_language_without_asking(client, alice, course):
    alice.profile.language = "zh-hans"
    alice.profile.save(update_fields=["language"])
    client.force_login(alice)
    page = client.get(reverse("course_detail", args=["llm-basics"]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "LoRA 与矩阵的秩" in page


def test_alice_marks_a_lesson_read_and_the_course_list_counts_it(client, alice, course):
    client.force_login(alice)
    response = client.post(reverse("lesson_read", args=["llm-basics", "lora-and-matrix-rank"]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'id="read-button"' in response.content.decode()
    assert "<html" not in response.content.decode()
    assert LessonRead.objects.filter(user=alice, lesson_slug="lora-and-matrix-rank").count() == 1
    assert "1 of 1 lessons read" in client.get(reverse("courses")).content.decode()


def test_the_glossary_lists_concepts_in_both_languages(client, alice, course):
    client.force_login(alice)
    page = client.get(reverse("glossary")).content.decode()
    assert "LoRA" in page and "秩" in page


def test_mallory_cannot_open_the_upload_page_and_anonymous_visitors_must_log_in(client, mallory, course):
    assert client.get(reverse("courses")).status_code == 302
    client.force_login(mallory)
    assert client.get(reverse("content_upload")).status_code == 302


def test_lesson_html_is_sanitised():
    from content.rendering import markdown_to_html

    html = markdown_to_html("Hello <script>alert(1)</script> **world** <a href='javascript:x()'>x</a>")
    assert "<script" not in html and "javascript:" not in html and "<strong>world</strong>" in html
