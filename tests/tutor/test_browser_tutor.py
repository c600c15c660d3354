"""A learner asks in a real browser, on the real ASGI server, and watches the answer stream in."""

import pytest

from tests.conftest import screenshot
from tests.fake_openai import Reply

STREAMING = (
    "() => { const el = document.querySelector('.answer-text.streaming'); return el && el.textContent.length > 10; }"
)


def log_in(page, base_url):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=login]", "alice@example.com")
    page.fill("input[name=password]", "pw-alice-123")
    page.click("button[type=submit]:not([name=language])")
    page.wait_for_url(lambda url: "/accounts/login" not in url)


@pytest.mark.django_db(transaction=True)
def test_alice_asks_on_her_phone_and_watches_a_cited_answer_stream_in(
    fake_openai, course, alice, live_server_process, browser
):
    fake_openai.default = Reply(
        "Self-attention lets every token compare its query with the keys of all the other "
        "tokens [1], and mixes their values by those scores [2]. A claim with no source [7].",
        chunk_delay=0.06,
    )
    page = browser.new_page(viewport={"width": 390, "height": 844})
    log_in(page, live_server_process)
    page.goto(f"{live_server_process}/tutor/")
    page.fill("textarea[name=question]", "What is self-attention?")
    page.click("form.ask button[type=submit]")
    page.wait_for_function(STREAMING)
    screenshot(page, "tutor-streaming-phone-en")
    answer = page.locator("article.answer:not([sse-connect])")
    answer.locator("a.cite").first.wait_for()
    assert "[7]" not in answer.inner_text()
    assert answer.locator(".sources li").count() == 2
    screenshot(page, "tutor-answer-phone-en")
    assert fake_openai.chat_requests()[0]["stream"] is True

    href = answer.locator("a.cite").first.get_attribute("href")
    assert href.startswith("/courses/llm-basics/attention-and-transformers/")
    with page.expect_navigation():
        answer.locator("a.cite").first.click()
    assert "/courses/llm-basics/attention-and-transformers/" in page.url
    assert page.locator("h1").count() >= 1


@pytest.mark.django_db(transaction=True)
def test_alice_asks_in_chinese_and_reads_the_page_in_chinese(fake_openai, course, alice, live_server_process, browser):
    fake_openai.default = Reply("LoRA 冻结原来的权重,只训练一个低秩的小补丁 [1]。", chunk_delay=0.05)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    log_in(page, live_server_process)
    page.goto(f"{live_server_process}/tutor/")
    page.click("form.language-switch button[value=zh-hans]")
    page.wait_for_selector("text=导师")
    page.fill("textarea[name=question]", "LoRA 是什么?")
    page.click("form.ask button[type=submit]")
    answer = page.locator("article.answer:not([sse-connect])")
    answer.locator("a.cite").first.wait_for()
    assert "低秩" in answer.inner_text()
    assert "资料来源" in answer.inner_text()
    screenshot(page, "tutor-answer-phone-zh")
