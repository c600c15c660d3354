import pytest
from django.utils import timezone

from quizzes.models import Card
from tests.conftest import screenshot

from .conftest import question_make


@pytest.mark.django_db(transaction=True)
def test_alice_suspends_and_annotates_cards_on_my_cards_in_both_languages(browser, live_server_process, alice):
    now = timezone.now()
    token = Card.objects.create(user=alice, question=question_make(prompt="What is a token?"), due=now)
    Card.objects.create(
        user=alice,
        question=question_make(prompt="Why scale attention scores?"),
        due=now,
        is_leech=True,
        lapses=8,
        reps=12,
        suspended=True,
    )
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server_process}/accounts/login/")
    page.fill("input[name=login]", alice.email)
    page.fill("input[name=password]", "pw-alice-123")
    page.click("form button[type=submit]:not([name])")
    page.wait_for_url("**/today/")
    page.goto(f"{live_server_process}/cards/")
    page.click(f"#card-{token.pk} button:has-text('Suspend')")
    page.wait_for_selector(f"#card-{token.pk} button:has-text('Unsuspend')")
    token.refresh_from_db()
    assert token.suspended
    page.click(f"#card-{token.pk} a:has-text('Add a note')")
    page.fill(f"#card-{token.pk} textarea[name=note]", "The unit a model reads.")
    page.click(f"#card-{token.pk} button:has-text('Save')")
    page.wait_for_selector(f"#card-{token.pk} .card-note")
    page.select_option("#id_show", "leeches")
    page.wait_for_function("() => !document.querySelector('#card-list').innerText.includes('token')")
    assert "attention" in page.locator("#card-list").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "quizzes-my-cards-phone-en")
    page.click("button[name=language][value=zh-hans]")
    page.wait_for_load_state()
    assert "我的卡片" in page.content()
    screenshot(page, "quizzes-my-cards-phone-zh")
