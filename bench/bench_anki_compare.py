"""Answer a review card and fetch the next: Anki's own backend beside Primer's, in process, p50 of each.

    .venv/bin/python -m bench.bench_anki_compare [--cards 300] [--answers 200]

Anki's side needs the `anki` package (`pip install anki==26.9.3` into the venv; it is not a dependency of
Primer): a fresh collection with FSRS on and `cards` review cards due today, answered Good one after another
through its scheduler (get_queued_cards, answer_card). Primer's side, in a throwaway database: the same number of
review cards, answered Good through session_next + review_record (the services), through review_record_and_next
(the one statement the rating view uses), and through the rating view itself with Django's test client (all of
the server's work for a rating: session, user, profile, the statement, the template).
"""

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta

from bench.common import percentile, throwaway_database


def anki_loop(cards: int, answers: int) -> list[float]:
    from anki.collection import Collection
    from anki.scheduler.v3 import CardAnswer

    collection = Collection(os.path.join(tempfile.mkdtemp(), "bench.anki2"))
    collection.set_config("fsrs", True)
    model, deck = collection.models.by_name("Basic"), collection.decks.id("Default")
    for i in range(cards):
        note = collection.new_note(model)
        note["Front"], note["Back"] = f"Question {i}", "token"
        collection.add_note(note, deck)
    collection.sched.set_due_date(list(collection.find_cards("")), "0")
    timings = []
    for _ in range(answers):
        started = time.perf_counter()
        queued = collection.sched.get_queued_cards(fetch_limit=1).cards[0]
        card = collection.get_card(queued.card.id)
        card.start_timer()
        collection.sched.answer_card(
            collection.sched.build_answer(card=card, states=queued.states, rating=CardAnswer.GOOD)
        )
        timings.append((time.perf_counter() - started) * 1000)
    collection.close()
    return timings


def primer_learner(name: str, cards: int):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from content.models import Course, Lesson, Section, Source
    from quizzes.models import Card, Question
    from quizzes.services import review_record, review_settings_update

    course, _ = Course.objects.get_or_create(slug="bench", defaults={"title": "Bench"})
    source = Source.objects.create(course=course, name=f"{name}.md", content_hash="x")
    lesson = Lesson.objects.create(course=course, source=source, slug=name, language="en", title="Bench")
    section = Section.objects.create(lesson=lesson, position=0, heading="Bench", anchor="bench", body="token")
    questions = Question.objects.bulk_create(
        [
            Question(
                type="cloze",
                prompt=f"Question {i}: ____",
                answer="token",
                origin="rule",
                status="approved",
                section=section,
            )
            for i in range(cards)
        ]
    )
    user = get_user_model().objects.create_user(username=f"{name}@bench", email=f"{name}@bench")
    review_settings_update(user=user, max_reviews_per_day=10_000)
    weeks_ago = timezone.now() - timedelta(weeks=3)
    made = Card.objects.bulk_create([Card(user=user, question=q, due=weeks_ago) for q in questions])
    # Two Good answers three weeks ago put each card in FSRS's Review state, due by now.
    for card in made:
        review_record(
            card=card,
            rating=3,
            answered_at=weeks_ago,
            duration_ms=3000,
            correct=True,
            idempotency_key=f"{name}-{card.pk}-1",
        )
        review_record(
            card=card,
            rating=3,
            answered_at=weeks_ago + timedelta(minutes=10),
            duration_ms=3000,
            correct=True,
            idempotency_key=f"{name}-{card.pk}-2",
        )
    Card.objects.filter(user=user).update(due=timezone.now() - timedelta(hours=1))
    return user


def primer_services(user, answers: int) -> list[float]:
    from django.utils import timezone

    from quizzes import selectors, services

    timings = []
    review_settings = services.review_settings_for(user=user)
    for n in range(answers):
        started = time.perf_counter()
        now = timezone.now()
        card = selectors.session_next(user=user, now=now).card
        services.review_record(
            card=card,
            rating=3,
            answered_at=now,
            duration_ms=3000,
            correct=True,
            idempotency_key=f"services-{n}",
            review_settings=review_settings,
        )
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def primer_one_statement(user, answers: int) -> list[float]:
    from django.utils import timezone

    from quizzes import selectors, services

    review_settings = services.review_settings_for(user=user)
    now = timezone.now()
    card = selectors.session_next(user=user, now=now).card
    timings = []
    for n in range(answers):
        started = time.perf_counter()
        now = timezone.now()
        outcome = services.review_outcomes(card=card, review_settings=review_settings, now=now)[3]
        _, session = services.review_record_and_next(
            card=card,
            rating=3,
            answered_at=now,
            duration_ms=3000,
            correct=True,
            idempotency_key=f"one-{n}",
            outcome=outcome,
            now=now,
        )
        card = session.card
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def primer_view(user, answers: int) -> list[float]:
    from django.test import Client
    from django.utils import timezone

    client = Client()
    client.force_login(user)
    htmx = {"HTTP_HX_REQUEST": "true"}
    page = client.get("/today/", **htmx).content.decode()
    timings = []
    for _ in range(answers):
        fields = {
            name: re.search(rf'name="{name}" value="([^"]*)"', page).group(1)
            for name in ("card", "shown_at", "showing")
        }
        fields["shown_at"] = str(int(timezone.now().timestamp() * 1000) - 4000)
        feedback = client.post("/today/answer/", {**fields, "answer": "token"}, **htmx).content.decode()
        token = re.search(r'name="token" value="([^"]*)"', feedback).group(1)
        started = time.perf_counter()
        page = client.post("/today/rate/", {"token": token, "rating": "3"}, **htmx).content.decode()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def summary(timings: list[float]) -> dict:
    return {
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(percentile(timings, 95), 2),
        "n": len(timings),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cards", type=int, default=300)
    # Both sides stop at 200 answers: Anki's default review limit of the day.
    parser.add_argument("--answers", type=int, default=200)
    args = parser.parse_args(argv)

    results = {}
    try:
        results["anki: answer + next (FSRS on)"] = summary(anki_loop(args.cards, args.answers))
    except ImportError:
        print("the anki package is not installed (pip install anki==26.9.3): Anki's side skipped", flush=True)
    _, drop = throwaway_database("bench_anki_compare")
    try:
        for name, loop in (
            ("primer: session_next + review_record", primer_services),
            ("primer: review_record_and_next (one statement)", primer_one_statement),
            ("primer: the rating view in process", primer_view),
        ):
            results[name] = summary(loop(primer_learner(name.split(":")[1].split()[0], args.cards), args.answers))
    finally:
        drop()
    for name, result in results.items():
        print(name, result, flush=True)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
