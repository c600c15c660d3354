"""Search treats the glossary as a bilingual dictionary: a concept named in one language is also looked for
under its names in the other."""

import pytest

from content import glossary, retrieval, services
from content.models import Concept

pytestmark = pytest.mark.django_db

CHINESE = """# 训练技巧

## 权重衰减

权重衰减在损失函数里加上一项惩罚，系数越大惩罚越重，模型的参数因此保持较小，过拟合随之减轻。

## 学习率

学习率决定每一步沿梯度走多远：太大会来回震荡，太小则收敛得很慢。
"""
ENGLISH = """# Notes on weights

## Saving weights

Model weights are saved to disk after every epoch, and the weights of the best epoch are kept for serving.
"""


@pytest.fixture
def course(tmp_path):
    (tmp_path / "tricks.md").write_text(CHINESE)
    (tmp_path / "weights.md").write_text(ENGLISH)
    course = services.course_get_or_create(slug="tricks")
    services.paths_ingest(course=course, paths=[tmp_path])
    Concept.objects.create(
        course=course,
        slug="weight-decay",
        term="weight decay",
        term_zh="权重衰减",
        aliases=["L2 regularization", "L2 正则化"],
    )
    Concept.objects.create(course=course, slug="weight", term="weight", term_zh="权重")
    return course


def test_an_english_concept_brings_its_chinese_name_and_the_longer_name_wins(course):
    assert glossary.expand("What is weight decay?") == ["权重衰减"]
    assert glossary.expand("权重衰减有什么用？") == ["weight decay"]
    assert glossary.expand("How do transformers work?") == []


def test_an_english_question_finds_the_chinese_passage_that_names_the_concept(course):
    hits = retrieval.search("What is weight decay?", course=course, k=3)
    assert hits[0].source == "tricks.md" and "权重衰减" in hits[0].text


def test_a_chinese_name_with_a_latin_word_in_it_is_heard_with_or_without_the_space(course):
    # "KV 缓存" is half Latin; before, such names were dropped and "KV 缓存里存的是什么？" named no concept.
    assert glossary.names("KV 缓存里存的是什么？") == ["kv 缓存"]
    assert glossary.names("KV缓存里存的是什么？") == ["kv缓存"]
    assert glossary.expand("KV缓存里存的是什么？") == ["kv cache"]
    # What search adds for an English question is still the concept's Chinese term, not the mixed alias.
    assert glossary.expand("What does the KV cache store?") == ["键值缓存"]


def test_a_concept_is_heard_by_its_verb_as_well_as_its_noun(course):
    assert glossary.names("Why do language models hallucinate?") == ["hallucinate"]
    assert glossary.expand("Why do language models hallucinate?") == ["幻觉"]
    assert glossary.names("How do I quantise a 7B model?") == ["quantise"]
    assert glossary.names("Which station is it?") == []


def test_only_the_concept_s_own_term_brings_its_verb(course):
    # "activation" is an alias of the activation function: activating a licence is not about it.
    assert glossary.names("How do I activate my Windows licence?") == []
    assert glossary.names("How do I quantize a 7B model?") == ["quantize"]


def test_a_concept_named_the_same_way_in_both_languages_is_heard_too(course):
    # Before, a concept needed a name in each script: "AlexNet", "GGUF" and "top-k 采样" named nothing.
    Concept.objects.create(course=course, slug="alexnet", term="AlexNet", term_zh="AlexNet")
    Concept.objects.create(course=course, slug="top-k", term="top-k sampling", term_zh="top-k 采样", aliases=["top-k"])
    assert glossary.names("What is AlexNet?") == ["alexnet"]
    assert glossary.names("那 top-k 呢？") == ["top-k"]
    assert glossary.names("What is top-k sampling?") == ["top-k sampling"]
    # Nothing to translate, so search adds nothing; and such a name may be a film's or a product's too.
    assert glossary.expand("What is AlexNet?") == []
    assert glossary.names("What is AlexNet?", bilingual=True) == []
    assert glossary.names("What is weight decay?", bilingual=True) == ["weight decay"]


def test_a_concept_name_with_one_typo_is_still_heard(course):
    Concept.objects.create(course=course, slug="overfitting", term="overfitting", term_zh="过拟合")
    assert glossary.names("What is overfiting?") == ["overfitting"]
    assert glossary.expand("What is overfiting?") == ["过拟合"]
    # Short words are too often other words one letter apart: "decya" is not taken for "decay".
    assert glossary.names("What is leaning?") == []
    assert glossary.names("What is weight decya?") == ["weight"]
