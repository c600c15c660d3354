"""Dense search at 100k synthetic chunks: pgvector HNSW against an exact scan, latency p50/p95 and recall@10.

    .venv/bin/python -m bench.bench_content_search [--rows 100000] [--queries 200]

Runs in a throwaway database (bench_content_search). The vectors are 384-d like e5-small's and
clustered (400 topics with noise), since real passage embeddings cluster; uniform random vectors
would be an unrealistically hard case for any approximate index. The index and the query settings
are the ones content.models and content.retrieval use (m=16, ef_construction=64, ef_search=100).
"""

import argparse
import statistics
import sys
import time

import numpy as np

from bench.common import throwaway_database


def main(argv=()) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args(list(argv))
    connection, drop = throwaway_database("bench_content_search")
    from content.retrieval import EF_SEARCH

    rng = np.random.default_rng(7)
    dims = 384
    centres = rng.normal(size=(400, dims)).astype(np.float32)
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_chunk (id bigint PRIMARY KEY, embedding vector(384))")
            started = time.perf_counter()
            with cursor.copy("COPY bench_chunk (id, embedding) FROM STDIN") as copy:
                for start in range(0, args.rows, 10_000):
                    block = _vectors(rng, centres, min(10_000, args.rows - start))
                    for i, row in enumerate(block):
                        copy.write_row((start + i, "[" + ",".join(f"{x:.5f}" for x in row) + "]"))
            loaded = time.perf_counter() - started
            started = time.perf_counter()
            cursor.execute("SET maintenance_work_mem = '512MB'")
            cursor.execute(
                "CREATE INDEX ON bench_chunk USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
            )
            built = time.perf_counter() - started
            cursor.execute("ANALYZE bench_chunk")
            queries = _vectors(rng, centres, args.queries)
            sql = "SELECT id FROM bench_chunk ORDER BY embedding <=> %s::vector LIMIT 10"
            hnsw, exact, recalls = [], [], []
            for q in queries:
                literal = "[" + ",".join(f"{x:.5f}" for x in q) + "]"
                cursor.execute("BEGIN")
                cursor.execute(f"SET LOCAL hnsw.ef_search = {EF_SEARCH}")
                t = time.perf_counter()
                cursor.execute(sql, [literal])
                approx = {r[0] for r in cursor.fetchall()}
                hnsw.append((time.perf_counter() - t) * 1000)
                cursor.execute("SET LOCAL enable_indexscan = off")
                t = time.perf_counter()
                cursor.execute(sql, [literal])
                truth = {r[0] for r in cursor.fetchall()}
                exact.append((time.perf_counter() - t) * 1000)
                cursor.execute("COMMIT")
                recalls.append(len(approx & truth) / 10)
        result = {
            "rows": args.rows,
            "load_s": round(loaded, 1),
            "index_build_s": round(built, 1),
            "hnsw_p50_ms": round(statistics.median(hnsw), 2),
            "hnsw_p95_ms": round(_p95(hnsw), 2),
            "exact_p50_ms": round(statistics.median(exact), 2),
            "exact_p95_ms": round(_p95(exact), 2),
            "recall_at_10": round(float(np.mean(recalls)), 3),
        }
        print(result)
        return result
    finally:
        connection.close()
        drop()


def _vectors(rng, centres, n: int) -> np.ndarray:
    picks = centres[rng.integers(0, len(centres), size=n)]
    vectors = picks + rng.normal(scale=0.6, size=picks.shape).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


if __name__ == "__main__":
    main(sys.argv[1:])
