"""How often the tutor declines what it should and answers what it should, on tests/tutor/eval_relevance.yaml.

    .venv/bin/python -m bench.bench_tutor_relevance

Loads the shipped course into a throwaway database (bench_tutor_relevance) and prints both rates for the half the
decision was calibrated on and for the held-out half, with the questions it gets wrong.
"""

from pathlib import Path

from bench.common import throwaway_database

EVAL = Path(__file__).resolve().parents[1] / "tests" / "tutor" / "eval_relevance.yaml"


def main(argv=()) -> dict:
    _connection, drop = throwaway_database("bench_tutor_relevance")
    from content import services
    from content.models import Course
    from tutor.evaluation import load_questions, relevance_rates

    try:
        services.shipped_course_load()
        course = Course.objects.get(slug="llm-basics")
        results = {}
        for half in ("calibrate", "holdout"):
            rates = relevance_rates(load_questions(EVAL, half=half), course=course)
            print(f"{half}: {rates}; wrong: {rates.wrong}")
            results[half] = rates
        return results
    finally:
        drop()


if __name__ == "__main__":
    main()
