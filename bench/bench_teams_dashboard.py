"""Manager dashboard for a team of 200 learners × 60 concepts: server time (p50/p95) and the query count.

    .venv/bin/python -m bench.bench_teams_dashboard [--learners 200] [--concepts 60] [--runs 60]

Runs in a throwaway database (bench_teams_dashboard) on the same PostgreSQL, so development data is untouched.
Each learner has two cards per concept, most of them reviewed two to four times over the past weeks.
"""

import argparse
import datetime as dt
import random
import statistics
import sys
import time

from bench.common import percentile, throwaway_database


def main(argv=()) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--concepts", type=int, default=60)
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args(list(argv))

    connection, drop = throwaway_database("bench_teams_dashboard")
    try:
        team, manager = seed(learners=args.learners, concepts=args.concepts)
        from django.test import Client
        from django.urls import reverse

        client = Client()
        client.force_login(manager)
        url = reverse("team_dashboard", args=[team.id])
        for _ in range(3):
            assert client.get(url).status_code == 200
        queries = []
        with connection.execute_wrapper(lambda execute, sql, *rest: (queries.append(sql), execute(sql, *rest))[1]):
            client.get(url)
        timings = []
        for _ in range(args.runs):
            start = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
        from teams.selectors import team_dashboard

        # The data as the page asks for it (lesson cells, no lesson opened), and with every concept as the CSV does.
        selector_timings, every_concept_timings = [], []
        for _ in range(args.runs):
            start = time.perf_counter()
            team_dashboard(team=team, detail_lessons=set())
            selector_timings.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            team_dashboard(team=team)
            every_concept_timings.append((time.perf_counter() - start) * 1000)
        result = {
            "learners": args.learners,
            "concepts": args.concepts,
            "runs": args.runs,
            "page_p50_ms": statistics.median(timings),
            "page_p95_ms": percentile(timings, 95),
            "selector_p50_ms": statistics.median(selector_timings),
            "selector_p95_ms": percentile(selector_timings, 95),
            "every_concept_p50_ms": statistics.median(every_concept_timings),
            "every_concept_p95_ms": percentile(every_concept_timings, 95),
            "queries": len(queries),
            "html_kb": len(response.content) / 1024,
        }
        print(
            f"teams dashboard, {args.learners} learners × {args.concepts} concepts ({args.runs} runs): "
            f"page p50 {result['page_p50_ms']:.0f} ms, p95 {result['page_p95_ms']:.0f} ms; "
            f"data only p50 {result['selector_p50_ms']:.0f} ms, p95 {result['selector_p95_ms']:.0f} ms "
            f"(every concept, as the CSV: p50 {result['every_concept_p50_ms']:.0f} ms, "
            f"p95 {result['every_concept_p95_ms']:.0f} ms); "
            f"{result['queries']} queries; {result['html_kb']:.0f} KB of HTML"
        )
        return result
    finally:
        drop()


def seed(*, learners: int, concepts: int):
    import fsrs
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from content.models import Concept, Course, Lesson, LessonRead, Section, Source
    from quizzes.models import Card, Question, ReviewLog
    from teams.models import Assignment, Membership, Organization, Role, Team

    rng = random.Random(6)
    now = timezone.now()
    User = get_user_model()
    course = Course.objects.create(slug="bench", title="Bench course")
    source = Source.objects.create(course=course, name="bench.md", content_hash="x")
    sections = []
    for n in range(10):
        lesson = Lesson.objects.create(
            course=course, source=source, slug=f"l{n}", language="en", order=n, title=f"L{n}"
        )
        sections.append(Section.objects.create(lesson=lesson, position=0, heading="h", anchor="h", body="b"))
    questions = []
    for i in range(concepts):
        concept = Concept.objects.create(course=course, slug=f"c{i}", term=f"Concept {i:02d}")
        for q in range(2):
            question = Question.objects.create(
                key=f"b{i}-{q}",
                type="cloze",
                prompt="?",
                answer="!",
                language="en",
                section=sections[i % 10],
                origin="rule",
                status="approved",
            )
            question.concepts.add(concept)
            questions.append(question)

    organization = Organization.objects.create(name="Bench", slug="bench")
    team = Team.objects.create(organization=organization, name="Cohort")
    manager = User.objects.create_user(username="manager@bench", email="manager@bench")
    Membership.objects.create(team=team, user=manager, role=Role.MANAGER)
    Assignment.objects.create(team=team, course=course, due_on=now.date() + dt.timedelta(days=20), created_by=manager)
    users = User.objects.bulk_create([User(username=f"u{n}@bench", email=f"u{n}@bench") for n in range(learners)])
    from accounts.models import Profile

    Profile.objects.bulk_create(
        [Profile(user=u, display_name=f"Learner {n}") for n, u in enumerate(users)], ignore_conflicts=True
    )
    Membership.objects.bulk_create([Membership(team=team, user=u, role=Role.LEARNER) for u in users])
    LessonRead.objects.bulk_create(
        [LessonRead(user=u, course=course, lesson_slug=f"l{n}") for u in users for n in range(rng.randint(0, 10))]
    )
    scheduler = fsrs.Scheduler(enable_fuzzing=False)
    cards, logs = [], []
    for user in users:
        for question in questions:
            state = fsrs.Card(card_id=1)
            reps = rng.choice([0, 2, 3, 4])
            when = now - dt.timedelta(days=rng.randint(10, 40))
            history = []
            for _ in range(reps):
                rating = fsrs.Rating.Good if rng.random() < 0.8 else fsrs.Rating.Again
                before = state.state.value
                state, _log = scheduler.review_card(state, rating, review_datetime=when)
                history.append((rating, when, before))
                when = min(now, state.due + dt.timedelta(days=rng.randint(0, 3)))
            card = Card(
                user=user,
                question=question,
                fsrs=state.to_dict() if reps else {},
                due=state.due if reps else now,
                reps=reps,
                first_reviewed_at=history[0][1] if history else None,
            )
            card.memory_state_sync()
            cards.append((card, history))
    Card.objects.bulk_create([c for c, _ in cards], batch_size=5000)
    for card, history in cards:
        for n, (rating, when, before) in enumerate(history):
            logs.append(
                ReviewLog(
                    card=card,
                    user_id=card.user_id,
                    rating=int(rating),
                    reviewed_at=when,
                    duration_ms=4000,
                    correct=rating != fsrs.Rating.Again,
                    state_before=before,
                    card_before={},
                    card_after={},
                    idempotency_key=f"{card.id}-{n}",
                )
            )
    ReviewLog.objects.bulk_create(logs, batch_size=5000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return team, manager


if __name__ == "__main__":
    main(sys.argv[1:])
