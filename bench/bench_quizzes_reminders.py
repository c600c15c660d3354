"""The hourly reminder job with 100k learners: seconds to select (claim) and to queue their emails.

    .venv/bin/python -m bench.bench_quizzes_reminders [--learners 100000]

Runs in a throwaway database on the same PostgreSQL and queues to the test Redis database, so development data is
untouched. Learners are spread over 8 time zones and all 24 reminder hours; each has 5 cards, some due.
"""

import argparse
import sys
import time

from bench.common import throwaway_database

ZONES = [
    "UTC",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Kolkata",
]


def main(argv=()) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=100_000)
    args = parser.parse_args(list(argv))

    connection, drop = throwaway_database("bench_quizzes_reminders")
    try:
        started = time.perf_counter()
        seed(learners=args.learners)
        seeded = time.perf_counter() - started

        from django.utils import timezone

        from config.celery_app import app
        from quizzes.services import reminder_claim_due
        from quizzes.tasks import REMINDER_BATCH, reminders_send

        app.control.purge()
        now = timezone.now().replace(minute=0, second=5, microsecond=0)
        start = time.perf_counter()
        claimed = reminder_claim_due(now=now)
        selected = time.perf_counter() - start
        start = time.perf_counter()
        for first in range(0, len(claimed), REMINDER_BATCH):
            reminders_send.delay(claimed[first : first + REMINDER_BATCH])
        queued = time.perf_counter() - start
        start = time.perf_counter()
        again = reminder_claim_due(now=now)
        second_run = time.perf_counter() - start
        app.control.purge()
        result = {
            "learners": args.learners,
            "claimed": len(claimed),
            "select_s": selected,
            "queue_s": queued,
            "second_run_claimed": len(again),
            "second_run_s": second_run,
            "seed_s": seeded,
        }
        print(
            f"reminders, {args.learners} learners: claimed {len(claimed)} in {selected:.2f} s, queued "
            f"{-(-len(claimed) // REMINDER_BATCH)} send tasks in {queued:.2f} s; a second run in the same hour "
            f"claimed {len(again)} in {second_run:.2f} s (seeding took {seeded:.0f} s)"
        )
        return result
    finally:
        drop()


def seed(*, learners: int) -> None:
    """Bulk rows with generate_series: 100k learners through the ORM would take minutes and measure nothing."""
    from django.db import connection

    from content.models import Course, Lesson, Section, Source
    from quizzes.models import Question

    course = Course.objects.create(slug="bench", title="Bench course")
    source = Source.objects.create(course=course, name="bench.md", content_hash="x")
    lesson = Lesson.objects.create(course=course, source=source, slug="l", language="en", order=0, title="L")
    section = Section.objects.create(lesson=lesson, position=0, heading="h", anchor="h", body="b")
    questions = [
        Question.objects.create(
            key=f"q{i}", type="cloze", prompt="?", answer="!", section=section, origin="rule", status="approved"
        ).id
        for i in range(5)
    ]
    zones = "ARRAY[" + ",".join(f"'{z}'" for z in ZONES) + "]"
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff,"
            " is_active, date_joined) SELECT '!', false, 'u' || n || '@bench', '', '', 'u' || n || '@bench', false,"
            " true, now() FROM generate_series(1, %s) AS n",
            [learners],
        )
        cursor.execute(
            f"INSERT INTO teams_profile (user_id, display_name, language, timezone) SELECT id, '', 'en',"
            f" ({zones})[1 + id %% {len(ZONES)}] FROM auth_user WHERE username LIKE 'u%%@bench'",
            [],
        )
        cursor.execute(
            "INSERT INTO quizzes_reviewsettings (user_id, desired_retention, new_per_day, max_reviews_per_day,"
            " reminder_hour, reminders_enabled, fsrs_parameters) SELECT id, 0.9, 10, 200, (id * 7) %% 24, true, '[]'"
            " FROM auth_user WHERE username LIKE 'u%%@bench'",
            [],
        )
        cursor.execute(
            "INSERT INTO quizzes_card (user_id, question_id, fsrs, due, reps, lapses, is_leech, created_at)"
            " SELECT u.id, q, '{}', now() + ((u.id + q) %% 5 - 2) * interval '1 day', 1, 0, false, now()"
            " FROM auth_user u CROSS JOIN unnest(%s::bigint[]) AS q WHERE u.username LIKE 'u%%@bench'",
            [questions],
        )
        cursor.execute("ANALYZE")


if __name__ == "__main__":
    main(sys.argv[1:])
