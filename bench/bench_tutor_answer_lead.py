"""How often an offline tutor answer opens with the sentence that answers, on tests/tutor/eval_answer_lead.yaml.

    .venv/bin/python -m bench.bench_tutor_answer_lead

Loads the shipped course into a throwaway database (bench_tutor_answer_lead) and prints, for the half the lead
scoring was tuned on and for the held-out half, how many answers lead correctly, with the ones that do not.
"""

from pathlib import Path

from bench.common import throwaway_database

EVAL = Path(__file__).resolve().parents[1] / "tests" / "tutor" / "eval_answer_lead.yaml"


def main(argv=()) -> dict:
    _connection, drop = throwaway_database("bench_tutor_answer_lead")
    from content import services
    from content.models import Course
    from tutor.evaluation import lead_rates, load_questions

    try:
        services.shipped_course_load()
        course = Course.objects.get(slug="llm-basics")
        results = {}
        for half in ("tune", "holdout"):
            leads = lead_rates(load_questions(EVAL, half=half), course=course)
            print(f"{half}: {leads}; wrong: {leads.wrong}")
            results[half] = leads
        return results
    finally:
        drop()


if __name__ == "__main__":
    main()
