import re

import pytest

from quizzes import services
from tests.conftest import screenshot

from .conftest import course_make, lesson_from_file


def answer_shown_question(page, text: str) -> None:
    """Type into the blank, or pick the second option of a multiple-choice card."""
    if page.locator("#answer-input").count():
        page.fill("#answer-input", text)
        page.keyboard.press("Enter")
    else:
        page.click(".options .option >> nth=1")


@pytest.mark.django_db(transaction=True)
def test_alice_answers_a_card_on_her_phone_sees_feedback_and_rates_it_in_both_languages(
    browser, live_server_process, alice
):
    course = course_make()
    lesson_from_file(course, "10-lora-and-matrix-rank.en.md")
    lesson_from_file(course, "10-lora-and-matrix-rank.zh.md")
    services.handwritten_questions_load(course=course)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server_process}/accounts/login/")
    page.fill("input[name=login]", alice.email)
    page.fill("input[name=password]", "pw-alice-123")
    page.click("form button[type=submit]:not([name])")
    page.wait_for_url("**/today/")
    screenshot(page, "quizzes-today-empty-phone-en")
    page.click(".start-button")
    page.wait_for_selector("#question")
    screenshot(page, "quizzes-today-question-phone-en")

    answer_shown_question(page, "140")
    page.wait_for_selector("#feedback")
    assert page.locator(".ratings .rating").count() == 4
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "quizzes-today-feedback-phone-en")
    page.keyboard.press("3")  # Good, from the keyboard
    page.wait_for_selector("#question")
    assert re.search(r"1 answered today|今天已答 1 张", page.locator(".session-counts").inner_text())

    page.click("button[name=language][value=zh-hans]")
    page.wait_for_selector("#question")
    answer_shown_question(page, "错误答案")
    page.wait_for_selector("#feedback")
    assert "记得怎么样" in page.inner_text("#feedback")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "quizzes-today-feedback-phone-zh")
    page.click("[data-proposed]")
    page.wait_for_selector("#question, .done")
    page.click("[data-undo]")
    # The undone answer no longer counts; waiting for that also waits for the swap.
    page.wait_for_function("() => /今天已答 1 张/.test(document.querySelector('.session-counts').innerText)")
    page.wait_for_selector("#question")
    screenshot(page, "quizzes-today-question-phone-zh")

    page.goto(f"{live_server_process}/courses/llm-basics/lora-and-matrix-rank/")
    screenshot(page, "quizzes-lesson-quiz-button-phone-zh")
    page.click("form.quiz-lesson button")
    page.wait_for_url("**/today/?lesson=*")
    page.wait_for_selector("#question, .done")
    assert page.locator(".session-counts a[href='/today/']").count() == 1, "a lesson quiz links back to all cards"

    page.goto(f"{live_server_process}/progress/")
    assert page.locator("svg.chart").count() == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "quizzes-progress-phone-zh")


@pytest.mark.django_db(transaction=True)
def test_a_rating_that_fails_shows_a_message_and_the_retry_counts_it_once(browser, live_server_process, alice):
    from django.utils import timezone

    from quizzes.models import Card, ReviewLog

    from .conftest import question_make

    first = Card.objects.create(user=alice, question=question_make(), due=timezone.now())
    Card.objects.create(user=alice, question=question_make(), due=timezone.now())
    page = browser.new_page()
    page.goto(f"{live_server_process}/accounts/login/")
    page.fill("input[name=login]", alice.email)
    page.fill("input[name=password]", "pw-alice-123")
    page.click("form button[type=submit]:not([name])")
    page.wait_for_url("**/today/")
    page.fill("#answer-input", "token")
    page.keyboard.press("Enter")
    page.wait_for_selector("#feedback")

    failures = ["unreachable", "server error"]

    def flaky(route):
        failure = failures.pop(0) if failures else None
        if failure == "unreachable":
            route.abort("connectionrefused")
        elif failure == "server error":
            # The server saved the rating and then failed to answer: the retry must not count it again.
            route.fetch()
            route.fulfill(status=500, body="Server Error")
        else:
            route.continue_()

    page.route("**/today/rate/", flaky)
    page.click("[data-proposed]")
    page.wait_for_selector("#request-failed:not([hidden])")
    assert "could not be reached" in page.inner_text("#request-failed")
    assert page.locator("#feedback").count() == 1, "the card stays, so nothing the learner did is lost"
    page.click("#request-failed [data-retry]")
    page.wait_for_function("() => /went wrong/.test(document.querySelector('#request-failed').innerText)")
    screenshot(page, "quizzes-today-rating-failed")
    page.click("#request-failed [data-retry]")
    page.wait_for_selector("#question")
    assert page.locator("#request-failed").is_hidden()
    assert ReviewLog.objects.filter(card=first).count() == 1
