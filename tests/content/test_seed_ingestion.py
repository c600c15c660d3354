"""The five real seed articles, ingested once for this module: cleaning, search and recall@5."""

from pathlib import Path

import pytest

from content import services
from content.evaluation import load_questions, recall_at_k
from content.models import Chunk, Course
from content.retrieval import search
from textkit import normalize

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
EVAL = Path(__file__).with_name("eval_questions.yaml")

# What the scraped pages carry besides the article; none of it may end up in a chunk.
NOISE = [
    "扫一扫打赏",
    "博客赞助",
    "领取红包",
    "本文来自互联网用户投稿",
    "注明出处",
    "相关文章",
    "浏览(",
    "免费领取",
    "二维码",
    "640套AI大模型报告合集",
    "全套AGI大模型学习路线",
    "触发器统计访问数据库",
    "MCU上的1微秒",
    "C# 基础知识总结",
    "Opengauss",
    "MySQL(77)",
    "kotlin入门教程",
    "深度学习入门指南(12)",
    "0 条评论",
    "RustDesk",
]


@pytest.fixture(scope="module")
def seeds_course(django_db_setup, django_db_blocker):
    if not SEEDS.is_dir():
        pytest.skip("the source articles (../shared/seeds) are not present")
    with django_db_blocker.unblock():
        course = services.course_get_or_create(slug="seeds", title="Seed articles")
        report = services.paths_ingest(course=course, paths=[SEEDS])
        yield course, report
        Course.objects.filter(pk=course.pk).delete()


def test_all_five_seed_articles_are_ingested(seeds_course, db):
    course, report = seeds_course
    assert [f.status for f in report.files] == ["ingested"] * 5
    assert all(f.sections >= 2 and f.chunks >= 5 for f in report.files)


def test_no_noise_passage_becomes_a_chunk(seeds_course, db):
    course, _ = seeds_course
    texts = [normalize(t) for t in Chunk.objects.filter(section__lesson__course=course).values_list("text", flat=True)]
    leaked = [noise for noise in NOISE if any(normalize(noise) in text for text in texts)]
    assert leaked == []


def test_searching_for_the_noise_topics_finds_only_article_text(seeds_course, db):
    course, _ = seeds_course
    for query in [
        "支付宝扫一扫打赏作者",
        "MySQL 如何设置自动备份任务",
        "免费领取大模型学习资料",
        "C# naming best practices",
    ]:
        for hit in search(query, course=course, k=5):
            assert not any(normalize(noise) in normalize(hit.text) for noise in NOISE), (query, hit.text)


def test_the_numbered_headings_become_sections(seeds_course, db):
    course, _ = seeds_course
    headings = set(
        course.lessons.get(source__name="004_8ae9d46b164c47e7.txt").sections.values_list("heading", flat=True)
    )
    assert {"1.2.3誤差函數", "1.2.5正則化", "1.3.2反向傳播"} <= headings
    headings_000 = set(
        course.lessons.get(source__name="000_989a64ee7514cafa.txt").sections.values_list("heading", flat=True)
    )
    assert "1 编解码与表示学习" in headings_000


def test_a_chinese_question_is_answered_from_the_right_passage(seeds_course, db):
    course, _ = seeds_course
    hits = search("LoRA 为什么能用很少的数字表示一个矩阵?", course=course, k=5)
    assert any(h.source == "000_989a64ee7514cafa.txt" and "7 个数字" in h.text for h in hits)


def test_a_simplified_question_finds_the_traditional_chapter(seeds_course, db):
    course, _ = seeds_course
    hits = search("正则化怎样减轻过拟合", course=course, k=5)
    assert hits[0].source == "004_8ae9d46b164c47e7.txt"
    assert "正則化" in hits[0].text or "正则化" in normalize(hits[0].text)


def test_an_english_question_finds_a_chinese_passage(seeds_course, db):
    course, _ = seeds_course
    hits = search("Who invented the perceptron?", course=course, k=5)
    assert any(h.source == "004_8ae9d46b164c47e7.txt" and "Rosenblatt" in h.text for h in hits)


def test_recall_at_5_on_our_evaluation_set_is_high(seeds_course, db):
    course, _ = seeds_course
    recall, results = recall_at_k(load_questions(EVAL), course=course, k=5)
    missed = [r.question for r in results if not r.found]
    print(f"recall@5 = {recall:.2f} over {len(results)} questions; missed: {missed}")
    assert recall >= 0.97, missed


def test_reingesting_unchanged_files_changes_nothing(seeds_course, db):
    course, _ = seeds_course
    before = set(Chunk.objects.filter(section__lesson__course=course).values_list("id", flat=True))
    report = services.paths_ingest(course=course, paths=[SEEDS])
    assert [f.status for f in report.files] == ["unchanged"] * 5
    assert set(Chunk.objects.filter(section__lesson__course=course).values_list("id", flat=True)) == before
