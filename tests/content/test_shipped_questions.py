"""Every hand-written question of the shipped course passes the checks generated questions get, and the mix of
questions tests understanding more than recall (FORMAT.md)."""

from pathlib import Path

import frontmatter
import pytest

from quizzes.verification import question_problems

COURSE = Path(__file__).resolve().parents[2] / "content" / "courses" / "llm-basics"
LESSON_FILES = sorted(COURSE.glob("[0-9][0-9]-*.md"))
DEEP_SKILLS = {"explain", "predict", "apply"}


def shipped_questions():
    for path in LESSON_FILES:
        for index, item in enumerate(frontmatter.load(path).metadata.get("questions") or []):
            yield path.name, index, item


def test_the_shipped_course_has_lesson_files_with_questions():
    assert LESSON_FILES and all(frontmatter.load(p).metadata.get("questions") for p in LESSON_FILES)


def test_every_shipped_question_passes_the_checks_generated_questions_get():
    # Hand-written questions quote no evidence span (they name their section), so the evidence checks, which
    # ground generated questions in the text, are left out; option, distractor and stem checks apply.
    failures = []
    for name, index, item in shipped_questions():
        for problem in question_problems(item):
            failures.append(f"{name} question {index + 1} ({item['prompt'][:60]}…): {problem}")
    assert not failures, "\n".join(failures)


def test_every_shipped_question_names_a_skill_and_a_section_of_its_lesson():
    failures = []
    for path in LESSON_FILES:
        post = frontmatter.load(path)
        headings = {line[3:].strip() for line in post.content.splitlines() if line.startswith("## ")}
        for index, item in enumerate(post.metadata.get("questions") or []):
            if item.get("skill") not in DEEP_SKILLS | {"recall"}:
                failures.append(f"{path.name} question {index + 1}: skill {item.get('skill')!r}")
            if item.get("section") not in headings:
                failures.append(f"{path.name} question {index + 1}: no section {item.get('section')!r}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("path", LESSON_FILES, ids=lambda p: p.name)
def test_each_lesson_file_has_five_to_eight_questions(path):
    assert 5 <= len(frontmatter.load(path).metadata.get("questions") or []) <= 8


def test_the_right_option_is_the_longest_in_at_most_40_percent_of_mcq_questions():
    mcq = [(name, index, item) for name, index, item in shipped_questions() if item["type"] == "mcq"]
    longest = [
        f"{name} question {index + 1}"
        for name, index, item in mcq
        if len(str(item["options"][item["answer"]])) == max(len(str(o)) for o in item["options"])
    ]
    assert len(longest) <= 0.4 * len(mcq), f"{len(longest)} of {len(mcq)}: " + ", ".join(longest)


def test_at_least_70_percent_of_questions_ask_to_explain_predict_or_apply():
    questions = list(shipped_questions())
    recall = [f"{name} question {index + 1}" for name, index, item in questions if item.get("skill") not in DEEP_SKILLS]
    assert len(questions) - len(recall) >= 0.7 * len(questions), f"{len(recall)} of {len(questions)}: " + ", ".join(
        recall
    )
