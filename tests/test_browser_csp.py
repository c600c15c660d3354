"""Issue 10 item 4: the Content Security Policy is enforced and the pages still work under it in Chromium."""

import pytest

from quizzes import services
from tests.quizzes.conftest import course_make, lesson_from_file

VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
                          (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));
"""


def watched_page(browser):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.add_init_script(VIOLATIONS)
    problems = []
    # The browser's own favicon request is the one 404 a page does not cause.
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" and "favicon" not in (message.location or {}).get("url", "")
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    return page, problems


def assert_clean(page, problems):
    assert page.evaluate("window.__csp") == []
    assert problems == []


@pytest.mark.django_db(transaction=True)
def test_today_a_lesson_the_tutor_and_the_upload_page_work_with_no_csp_violation(browser, live_server_process, alice):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    course = course_make()
    lesson = lesson_from_file(course, "10-lora-and-matrix-rank.en.md")
    services.handwritten_questions_load(course=course)
    page, problems = watched_page(browser)
    page.goto(f"{live_server_process}/accounts/login/")
    page.fill("input[name=login]", alice.email)
    page.fill("input[name=password]", "pw-alice-123")
    page.click("form button[type=submit]:not([name])")
    page.wait_for_url("**/today/")
    response = page.goto(f"{live_server_process}/today/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self' 'nonce-" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy

    # Today: htmx swaps the question in, the keyboard shortcut (primer.js) rates it.
    page.click(".start-button")
    page.wait_for_selector("#question")
    if page.locator("#answer-input").count():
        page.fill("#answer-input", "140")
        page.keyboard.press("Enter")
    else:
        page.click(".options .option >> nth=1")
    page.wait_for_selector("#feedback")
    page.keyboard.press("3")
    page.wait_for_selector("#question")
    assert_clean(page, problems)

    # A lesson: the "Ask the tutor" link opens the panel; an answer streams in and the question box empties.
    page.goto(f"{live_server_process}{lesson.get_absolute_url()}")
    page.click("a[data-opens=ask]")
    assert page.evaluate("document.getElementById('ask').open")
    page.fill("#lesson-question", "What does LoRA train?")
    page.click("#ask form.ask button[type=submit]")
    page.locator("#lesson-thread article.answer:not([sse-connect])").wait_for()
    assert page.input_value("#lesson-question") == ""
    assert_clean(page, problems)

    # The tutor page's stream (server-sent events through htmx's extension).
    page.goto(f"{live_server_process}/tutor/")
    page.fill("textarea[name=question]", "What is a low-rank update?")
    page.click("form.ask button[type=submit]")
    page.locator("#thread article.answer:not([sse-connect])").wait_for()
    assert page.input_value("textarea[name=question]") == ""
    assert_clean(page, problems)

    page.goto(f"{live_server_process}/courses/upload/")
    page.locator("input[type=file]").first.wait_for()
    assert_clean(page, problems)

    # The admin (staff review flagged passages there) works under the same policy.
    page.goto(f"{live_server_process}/admin/content/chunk/")
    page.locator("#changelist").wait_for()
    assert_clean(page, problems)
