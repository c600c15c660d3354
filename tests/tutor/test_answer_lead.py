"""Offline answers over the whole shipped course lead with the sentence that answers: the definition for "what is",
not a caveat or a side remark from the same section, and that sentence carries a citation."""

import re
from pathlib import Path

import pytest

from content import services
from content.models import Course
from tutor import answering
from tutor.evaluation import lead_rates, load_questions

EVAL = Path(__file__).with_name("eval_answer_lead.yaml")
# Written after a probe on 2026-12-02 and never tuned on: what the scoring makes of questions it has not seen.
FRESH = Path(__file__).with_name("eval_answer_lead_fresh.yaml")
# Measured on eval_answer_lead.yaml: 30 of 38 (29 before comparisons, quantities and bold labels were read, 22 before
# the sentence after a table had a line of its own, mixed-script glossary names and a concept's verb ("hallucinate")
# were heard, and three lessons said plainly what they had only implied; 21 before this set existed).
# On the fresh set: 27 of 64 (24 before). The floors keep what was won.
LEAD_FLOOR = 0.7
FRESH_FLOOR = 0.4
# The answering sentence anywhere in the four-sentence answer: 31 of 38 (30 when what follows the lead was chosen by
# similarity alone).
CONTAINED_FLOOR = 0.75


@pytest.fixture(scope="module")
def shipped_course(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        services.shipped_course_load()
        course = Course.objects.get(slug="llm-basics")
        yield course
        course.delete()


def _lead(question: str, course) -> tuple[str, list[int], set[int]]:
    prepared = answering.prepare(question, course=course)
    assert prepared.relevant, question
    text = answering.finish(answering.offline_answer(prepared), prepared).text
    lead = re.match(r"(.+?)\s*\[(\d+)\]", text)
    assert lead, text
    return lead.group(1), [int(lead.group(2))], {p.number for p in prepared.passages}


@pytest.mark.parametrize(
    "question, words",
    [
        # The mechanism, not "LoRA comes from the paper …".
        ("What is LoRA?", ["low-rank", "factored"]),
        ("What is cross-entropy loss?", ["negative log-likelihood"]),
        # The definition, not "looking a token up means reading its row".
        ("什么是词元？", ["完整英文单词", "单个字符"]),
    ],
)
def test_the_offline_answer_leads_with_the_definition_and_cites_it(shipped_course, db, question, words):
    lead, cited, given = _lead(question, shipped_course)
    assert all(word in lead for word in words), lead
    assert set(cited) <= given


@pytest.mark.parametrize(
    "question, expected, heard",
    [
        ("What is LoRA?", "what", ["lora"]),
        ("What does the KV cache store?", "what", ["kv cache"]),
        ("为什么会过拟合？", "why", ["过拟合"]),
        ("Why does LoRA need less GPU memory?", "why", ["lora", "gpu memory"]),
        ("怎么计算交叉熵损失?", "how", ["交叉熵损失"]),
    ],
)
def test_the_kind_of_question_and_its_subject_are_recognised(db, question, expected, heard):
    assert answering.question_kind(question) == expected
    assert answering._subjects(question) == heard


def test_a_latin_name_in_a_chinese_sentence_is_read_by_the_chinese_patterns(db):
    # Before, "LoRA" and "KV" picked the English patterns ("X is …") even inside a Chinese sentence.
    assert answering.defines("LoRA 是一种只训练低秩补丁的微调方法。", "lora")
    assert answering.names_back("这份存储就是 KV 缓存。", "kv 缓存")
    assert answering.names_back("这种做法就是 LoRA。", "lora")
    assert not answering.defines("这份存储就是 KV 缓存。", "kv 缓存")
    assert answering.opens_with("LoRA 假设这个增量是低秩的。", "lora")
    assert not answering.opens_with("7B 模型的 LoRA 训练就是这样塞进一张 24 GB 显卡的。", "lora")


@pytest.mark.parametrize(
    "question, words, not_words",
    [
        # The reason, not the caveat "so 'bigger models over-fit more' is not a law" from the same lesson.
        ("为什么会过拟合？", ["噪声"], ["并不是一条定律"]),
        # What the cache holds (keys and values), not the sentence that only names it.
        ("KV 缓存里存的是什么？", ["键和值"], []),
        # The sentence after the memory table (once glued to its last row), not the fine-tuning lesson's cost.
        ("Why does LoRA need less GPU memory?", ["LoRA needs less GPU memory"], ["far more GPU memory than serving"]),
        # What LoRA is ("LoRA 假设…" is an assumption it makes, not an example), not what it fails to save.
        ("什么是 LoRA？", ["低秩"], ["只省掉了"]),
    ],
)
def test_the_offline_answer_leads_with_the_reason_not_a_caveat(shipped_course, db, question, words, not_words):
    lead, cited, given = _lead(question, shipped_course)
    assert all(word in lead for word in words), lead
    assert not any(word in lead for word in not_words), lead
    assert set(cited) <= given


@pytest.mark.parametrize(
    "question, expected",
    [
        ("What is the difference between prefill and decode?", "compare"),
        ("Is GPT an encoder or a decoder?", "compare"),
        ("top-k 和 top-p 有什么区别？", "compare"),
        ("How many parameters does LoRA train?", "quantity"),
        ("微调一个 7B 模型需要多少显存？", "quantity"),
        # "会怎样" asks what happens, not how to do something.
        ("温度设成 0 会怎样？", ""),
        ("What happens if I set the temperature to zero?", ""),
    ],
)
def test_a_comparison_a_quantity_and_an_outcome_are_their_own_kinds(db, question, expected):
    assert answering.question_kind(question) == expected


def test_a_comparison_leads_with_the_sentence_that_names_both_sides(db):
    question = "Is GPT an encoder or a decoder?"
    both = answering.lead_score(question, "BERT keeps the encoder and GPT keeps only the decoder.")
    one = answering.lead_score(question, "GPT was trained on a large corpus of web text.")
    assert both > one


def test_a_quantity_leads_with_a_number(db):
    question = "How much memory does a 7B model need in fp16?"
    number = answering.lead_score(question, "A 7B model in fp16 needs 7B × 2 bytes = 14 GB for its weights.")
    none = answering.lead_score(question, "Memory bandwidth decides how fast a 7B model decodes.")
    assert number > none


def test_a_sentence_that_only_mentions_the_subject_does_not_define_it(db):
    # A passive ("are derived") and "也是 X：" are not definitions of X.
    assert not answering.defines("How loss functions are derived is worth a short video.", "loss function")
    assert not answering.defines("权重本身也是张量：一个层要存一个权重矩阵。", "张量")
    assert answering.defines("A loss function is a formula that scores a prediction.", "loss function")
    assert answering.defines("LoRA is called a low-rank adapter.", "lora")


def test_a_bold_label_is_no_sentence_and_a_figure_description_never_leads(db):
    passage = (
        "**Rotary position embedding, RoPE** (Su et al., 2021). Nothing is added to the input.\n"
        "- **正弦编码和 RoPE。** 任何位置都算得出来。"
    )
    # The label is no sentence of its own: it names what the next one is about.
    assert answering.sentences(passage) == [
        "Rotary position embedding, RoPE: Nothing is added to the input.",
        "正弦编码和 RoPE：任何位置都算得出来。",
    ]
    figure = answering.lead_score("Why take the log?", "Figure: Bar chart of a distribution: the loss is 0.36.")
    reason = answering.lead_score("Why take the log?", "The log turns a product into a sum, because sums are stable.")
    assert reason > figure


def test_key_terms_match_whole_english_words():
    assert answering.term_coverage(["ear"], "Models learn from data.") == 0.0
    assert answering.term_coverage(answering.key_terms("Which cache stores keys?"), "Caches store the keys.") == 1.0


def test_offline_answers_over_our_evaluation_set_lead_with_the_answer_and_cite_a_retrieved_passage(shipped_course, db):
    leads = lead_rates(load_questions(EVAL), course=shipped_course)
    print(leads, leads.wrong)
    assert leads.correct / leads.total >= LEAD_FLOOR, leads.wrong
    assert leads.contained / leads.total >= CONTAINED_FLOOR, leads
    assert leads.cited == leads.answered


def test_offline_answers_to_questions_the_scoring_never_saw_lead_with_the_answer(shipped_course, db):
    leads = lead_rates(load_questions(FRESH), course=shipped_course)
    print(leads, leads.wrong)
    assert leads.correct / leads.total >= FRESH_FLOOR, leads.wrong
    assert leads.cited == leads.answered


def test_what_follows_the_lead_is_chosen_by_its_form_too(shipped_course, db):
    # Chosen by similarity alone, the KV cache answer went on with two bare "这份存储就是 KV 缓存。" sentences, which
    # name what they do not say; ranked by form, it goes on with what the cache keeps.
    prepared = answering.prepare("KV 缓存里存的是什么？", course=shipped_course)
    text = answering.finish(answering.offline_answer(prepared), prepared).text
    assert "这份存储就是 KV 缓存。" not in text, text
    assert "存一次就能反复使用" in text, text
