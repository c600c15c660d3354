"""How often the tutor declines what it should and answers what it should, on tests/tutor/eval_relevance.yaml.

    .venv/bin/python -m bench.bench_tutor_relevance

Loads the shipped course into a throwaway database (bench_tutor_relevance) and prints both rates for the half the
decision was calibrated on and for the held-out half, with the questions it gets wrong.
"""

from pathlib import Path

from bench.common import tutor_eval_by_half

EVAL = Path(__file__).resolve().parents[1] / "tests" / "tutor" / "eval_relevance.yaml"


def main(argv=()) -> dict:
    return tutor_eval_by_half("bench_tutor_relevance", EVAL, ("calibrate", "holdout", "fresh"), "relevance_rates")


if __name__ == "__main__":
    main()
