import datetime as dt
import itertools
import random
import re
import time

import pytest
from django.utils import timezone

from quizzes import services as quiz_services
from quizzes.models import Card
from teams.models import Membership
from tests.conftest import screenshot

from .conftest import make_course

CONCEPTS = (
    "Token",
    "Next-token prediction",
    "Embedding",
    "Attention",
    "Transformer",
    "Pre-training",
    "Instruction tuning",
    "RLHF",
    "LoRA",
    "Matrix rank",
    "Over-fitting",
)


def log_in(page, base, email, password):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]:not([name])")
    page.wait_for_load_state()


def log_out(page):
    page.click("form[action='/accounts/logout/'] button")
    page.wait_for_url("**/accounts/login/**")


def wait_for(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise TimeoutError("the condition never held")


def practise(user, course, *, skill: float, now):
    """A few weeks of reviews by someone who remembers with probability `skill`: the heatmap's colours."""
    rng = random.Random(user.id)
    keys = itertools.count()
    for card in Card.objects.filter(user=user, question__section__lesson__course=course):
        when = now - dt.timedelta(days=rng.randint(8, 20))
        for _ in range(rng.randint(1, 3)):
            rating = 3 if rng.random() < skill else 1
            quiz_services.review_record(
                card=card,
                rating=rating,
                answered_at=when,
                duration_ms=5000,
                correct=rating > 1,
                idempotency_key=f"{user.id}-{card.id}-{next(keys)}",
            )
            when += dt.timedelta(days=rng.randint(1, 4))
            if when > now:
                break


@pytest.mark.django_db(transaction=True)
def test_carol_onboards_a_new_hire_assigns_the_course_and_watches_the_dashboard(
    browser, team, carol, alice, bob, celery_worker_process, live_server_process
):
    base = live_server_process
    course = make_course(slug="llm-basics-test", concepts=CONCEPTS, lessons=4)
    page = browser.new_page(viewport={"width": 1280, "height": 900})

    # Carol makes an invite link on the People page.
    log_in(page, base, "carol@example.com", "pw-carol-123")
    page.goto(f"{base}/team/{team.id}/people/")
    page.fill("input[name=max_uses]", "3")
    page.click("form button[type=submit]:has-text('Invite')")
    page.wait_for_load_state()
    link = page.locator("input.invite-link").first.input_value()
    assert re.search(r"/team/join/[\w-]+/$", link)
    log_out(page)

    # The new hire opens it, signs up, comes back to the invitation and joins.
    page.goto(link)
    page.click("a:has-text('Create an account')")
    page.fill("input[name=email]", "dave@example.com")
    page.fill("input[name=password1]", "a-long-passphrase-9")
    page.fill("input[name=password2]", "a-long-passphrase-9")
    page.click("form button[type=submit]:not([name])")
    page.wait_for_url("**/team/join/**")
    page.click("button:has-text('Join the team')")
    page.wait_for_url("**/today/")
    dave = Membership.objects.get(team=team, user__email="dave@example.com").user
    log_out(page)

    # Carol assigns the course to the whole team with a deadline; the worker creates everyone's cards.
    log_in(page, base, "carol@example.com", "pw-carol-123")
    page.goto(f"{base}/team/{team.id}/assignments/")
    page.select_option("select[name=course]", str(course.id))
    page.fill("input[name=due_on]", (timezone.localdate() + dt.timedelta(days=21)).isoformat())
    page.click("form button[type=submit]:has-text('Assign')")
    page.wait_for_url(f"**/team/{team.id}/")
    wait_for(lambda: Card.objects.filter(user=dave).count() == len(CONCEPTS) * 2)
    assert Card.objects.filter(user=alice).count() == len(CONCEPTS) * 2

    # The team reviews; the dashboard and the heatmap fill in.
    now = timezone.now()
    practise(alice, course, skill=0.9, now=now)
    practise(bob, course, skill=0.5, now=now)
    practise(dave, course, skill=0.75, now=now)
    page.reload()
    assert page.locator("table.learners tbody tr").count() == 3
    assert page.locator("td.cell").count() == 3 * 4, "one cell per lesson"
    assert "dave" in page.locator("table.learners").inner_text()
    screenshot(page, "team-dashboard-desktop-en")
    # Who is weak on RLHF? Open its lesson (RLHF is the 8th concept, so lesson 3): its concepts appear beside it.
    page.click("th.lesson a:has-text('Lesson 3')")
    page.wait_for_selector("th.concept.sub:has-text('RLHF')")
    assert page.locator("td.cell").count() == 3 * (4 + 2)
    screenshot(page, "team-dashboard-desktop-en-lesson-open")

    phone = browser.new_page(viewport={"width": 390, "height": 844})
    log_in(phone, base, "carol@example.com", "pw-carol-123")
    phone.goto(f"{base}/team/{team.id}/")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "the tables scroll inside their cards"
    screenshot(phone, "team-dashboard-phone-en")
    phone.click("button[name=language][value=zh-hans]")
    phone.wait_for_load_state()
    assert "概念掌握度" in phone.content()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "team-dashboard-phone-zh")
    page.goto(f"{base}/team/{team.id}/")
    screenshot(page, "team-dashboard-desktop-zh")

    # The hire sees the assignment and its deadline.
    hire = browser.new_page(viewport={"width": 390, "height": 844})
    log_in(hire, base, "dave@example.com", "a-long-passphrase-9")
    hire.goto(f"{base}/team/")
    assert "LLM basics (test)" in hire.content()
    screenshot(hire, "team-learner-phone-en")
