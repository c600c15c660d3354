"""How often an offline tutor answer opens with the sentence that answers, on tests/tutor/eval_answer_lead.yaml
and eval_answer_lead_fresh.yaml.

    .venv/bin/python -m bench.bench_tutor_answer_lead

Loads the shipped course into a throwaway database (bench_tutor_answer_lead) and prints, for the half the lead
scoring was tuned on, for the held-out half and for the fresh set, how many answers lead correctly, with the ones that do not.
"""

from pathlib import Path

from bench.common import tutor_eval_by_half

TESTS = Path(__file__).resolve().parents[1] / "tests" / "tutor"
EVAL = [TESTS / "eval_answer_lead.yaml", TESTS / "eval_answer_lead_fresh.yaml"]


def main(argv=()) -> dict:
    return tutor_eval_by_half("bench_tutor_answer_lead", EVAL, ("tune", "holdout", "fresh"), "lead_rates")


if __name__ == "__main__":
    main()
