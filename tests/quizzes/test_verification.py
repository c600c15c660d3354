"""The one set of checks every question passes, on real-looking flawed questions: each check names the problem."""

import pytest

from quizzes.verification import question_problems

SECTION = (
    "LoRA freezes the pretrained weights and learns a low-rank update. The update is the product BA of two "
    "thin matrices, so a 3 × 4 matrix of rank 1 can be stored in 7 numbers."
)


def problems_of(**item):
    return question_problems({"type": "mcq", "prompt": "What does LoRA learn instead of a full weight update?", **item})


def test_a_well_made_question_has_no_problems():
    assert (
        problems_of(
            options=["a low-rank product", "a bigger vocabulary", "a longer context", "a reward model"], answer=0
        )
        == []
    )


def test_an_answer_index_past_the_options_is_named():
    assert problems_of(options=["rank", "depth", "width"], answer=3) == [
        "options: the answer is option 3, but there are only 3 options (0–2)"
    ]


def test_two_options_that_differ_only_in_case_width_or_script_are_the_same_option():
    for pair in (["Rank", "rank"], ["ＧＰＵ", "GPU"], ["過擬合", "过拟合"]):
        problems = problems_of(options=[*pair, "the vocabulary"], answer=2)
        assert any(p.startswith("options: two options are the same") for p in problems), pair


def test_an_answer_that_is_not_among_the_options_is_named():
    assert "options: the answer is not exactly one of the options" in problems_of(
        options=["rank", "depth", "width"], answer="height"
    )


def test_a_right_option_far_longer_than_every_distractor_is_a_length_outlier():
    problems = problems_of(
        options=["a product of two thin low-rank matrices", "a new vocabulary", "more layers", "a reward"], answer=0
    )
    assert any("longest by far" in p for p in problems)


def test_a_slightly_longer_right_option_is_no_outlier():
    assert problems_of(options=["low-rank update", "new vocabulary", "more layers"], answer=0) == []


def test_a_distractor_in_another_language_is_easy_to_rule_out():
    problems = question_problems(
        {"type": "mcq", "prompt": "LoRA 训练的是什么？", "options": ["低秩更新", "词表", "reward model"], "answer": 0}
    )
    assert any(p.startswith("distractors:") and "reward model" in p for p in problems)


@pytest.mark.parametrize(
    "prompt",
    [
        "What is the ____ of BA, where ba is a rank-1 product?",
        "ＢＡ is the low-rank ____ LoRA learns.",
        "LoRA 學的 BA 是什麼？____",
    ],
)
def test_the_answer_in_the_stem_is_found_across_case_width_and_script(prompt):
    problems = question_problems({"type": "cloze", "prompt": prompt, "answer": "BA"})
    assert "stem: the stem gives the answer away" in problems
    problems = question_problems(
        {"type": "cloze", "prompt": "過擬合 happens when a model learns ____.", "answer": "过拟合"}
    )
    assert "stem: the stem gives the answer away" in problems


def test_a_negated_stem_and_a_catch_all_option_are_named():
    problems = problems_of(
        prompt="Which of these is NOT a way to fine-tune?",
        options=["LoRA", "full fine-tuning", "all of the above"],
        answer=0,
    )
    assert "stem: the stem asks for a negation (NOT / EXCEPT)" in problems
    assert "stem: an option is a catch-all (“all/none of the above”)" in problems


def test_a_cloze_without_a_blank_is_named():
    assert question_problems({"type": "cloze", "prompt": "LoRA trains only two small matrices.", "answer": "BA"}) == [
        "stem: the cloze has no blank"
    ]


def test_generated_questions_must_quote_their_section_and_the_quote_must_hold_the_answer():
    item = {"type": "cloze", "prompt": "A 3 × 4 matrix of rank 1 can be stored in ____ numbers.", "answer": "7"}
    assert question_problems(item, section_text=SECTION) == ["evidence: no evidence span is quoted"]
    assert question_problems({**item, "evidence": "LoRA stores a matrix in 12 numbers."}, section_text=SECTION) == [
        "evidence: the quoted evidence does not occur in the section"
    ]
    assert question_problems({**item, "evidence": "LoRA freezes the pretrained weights"}, section_text=SECTION) == [
        "evidence: the evidence does not contain the answer"
    ]
    assert (
        question_problems(
            {**item, "evidence": "a 3 × 4 matrix of rank 1 can be stored in 7 numbers"}, section_text=SECTION
        )
        == []
    )


def test_a_distractor_the_evidence_also_supports_makes_two_options_right():
    problems = question_problems(
        {
            "type": "mcq",
            "prompt": "What does LoRA keep frozen?",
            "options": ["the pretrained weights", "a low-rank update", "the optimizer"],
            "answer": "the pretrained weights",
            "evidence": "LoRA freezes the pretrained weights and learns a low-rank update.",
        },
        section_text=SECTION,
    )
    assert any(p.startswith("options: the evidence also supports a distractor") for p in problems)
