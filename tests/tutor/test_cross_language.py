"""An English question about a course written only in Chinese: the glossary names the concept in Chinese."""

import pytest

from content import services
from tutor import answering

pytestmark = pytest.mark.django_db

CHINESE = """# 训练技巧

## 权重衰减

权重衰减在损失函数里加上一项惩罚，系数越大惩罚越重，模型的参数因此保持较小，过拟合随之减轻。

## 学习率

学习率决定每一步沿梯度走多远：太大会来回震荡，太小则收敛得很慢。
"""


@pytest.fixture
def chinese_course(tmp_path):
    (tmp_path / "tricks.md").write_text(CHINESE)
    course = services.course_get_or_create(slug="tricks")
    services.paths_ingest(course=course, paths=[tmp_path])
    return course


def test_an_english_question_is_answered_from_the_chinese_passage_that_names_its_concept(chinese_course):
    prepared = answering.prepare("What is weight decay?", course=chinese_course)
    assert prepared.relevant
    finished = answering.finish(answering.offline_answer(prepared), prepared)
    assert "权重衰减" in finished.text and "[1]" in finished.text


def test_an_english_question_about_something_else_is_still_declined(chinese_course):
    assert not answering.prepare("How do I cook pasta al dente?", course=chinese_course).relevant
