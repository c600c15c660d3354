"""How often an offline tutor answer opens with the sentence that answers, on tests/tutor/eval_answer_lead.yaml.

    .venv/bin/python -m bench.bench_tutor_answer_lead

Loads the shipped course into a throwaway database (bench_tutor_answer_lead) and prints, for the half the lead
scoring was tuned on and for the held-out half, how many answers lead correctly, with the ones that do not.
"""

from pathlib import Path

from bench.common import tutor_eval_by_half

EVAL = Path(__file__).resolve().parents[1] / "tests" / "tutor" / "eval_answer_lead.yaml"


def main(argv=()) -> dict:
    return tutor_eval_by_half("bench_tutor_answer_lead", EVAL, ("tune", "holdout"), "lead_rates")


if __name__ == "__main__":
    main()
