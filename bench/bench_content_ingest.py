"""Ingest the five seed articles end to end (read, clean, split, chunk, embed, write) and measure recall@5.

    .venv/bin/python -m bench.bench_content_ingest

Runs in a throwaway database (bench_content_ingest) on the same PostgreSQL; a fresh process, so no
embedding is cached. Reads ../shared/seeds and tests/content/eval_questions.yaml.
"""

import time
from pathlib import Path

from bench.common import throwaway_database

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"


def main(argv=()) -> dict:

    connection, drop = throwaway_database("bench_content_ingest")
    try:
        from content import services
        from content.evaluation import load_questions, recall_at_k

        course = services.course_get_or_create(slug="seeds")
        started = time.perf_counter()
        report = services.paths_ingest(course=course, paths=[SEEDS])
        seconds = time.perf_counter() - started
        chunks = report.total("chunks")
        recall, results = recall_at_k(
            load_questions(ROOT / "tests" / "content" / "eval_questions.yaml"), course=course, k=5
        )
        result = {
            "seconds": round(seconds, 1),
            "chunks": chunks,
            "chunks_per_s": round(chunks / seconds, 2),
            "sections": report.total("sections"),
            "recall_at_5": round(recall, 3),
            "questions": len(results),
        }
        print(result)
        print("missed:", [r.question for r in results if not r.found])
        return result
    finally:
        drop()


if __name__ == "__main__":
    main()
