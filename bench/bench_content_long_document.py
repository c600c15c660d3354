"""Ingest one very long document (2 MB, then 20 MB of generated Markdown) and measure peak memory and throughput.

    .venv/bin/python -m bench.bench_content_long_document          # both sizes
    .venv/bin/python -m bench.bench_content_long_document 5        # one size, in MB

Embeddings come from tests/fake_openai.py, an OpenAI-compatible /v1/embeddings server on localhost, run in its
own process (EMBEDDING_BACKEND=openai): the CPU model would take hours for 20 MB, and what is measured here is
Primer's own reading, chunking, batching and writing. Each size is ingested by a fresh process into a throwaway
database (bench_content_long_document); its peak RSS growth is read from the kernel (VmHWM, reset just before
the ingestion starts), so the memory of setting Django up is not counted.
"""

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES_MB = (2, 20)
WORDS = (
    "attention token vector layer weight gradient softmax matrix batch model context window decoder encoder "
    "prompt sample loss rank head residual norm embedding logit beam cache query key value step learning rate "
    "optimizer schedule warmup dropout overfitting validation tokenizer vocabulary merge byte pair position "
    "rotary sequence length memory bandwidth kernel fusion quantisation precision adapter fine tuning "
    "preference reward policy retrieval index chunk passage citation evaluation benchmark latency"
).split()


def write_document(path: Path, megabytes: float, seed: int = 11) -> int:
    """Paragraphs of varied sentences under a heading every few paragraphs, written as it goes; returns bytes."""
    rng = random.Random(seed)
    target, written, paragraph = int(megabytes * 1_000_000), 0, 0
    with path.open("w", encoding="utf-8") as out:
        out.write("# Engineering field notes\n\n")
        while written < target:
            if paragraph % 6 == 0:
                out.write(f"## Part {paragraph // 6 + 1}: {rng.choice(WORDS)} and {rng.choice(WORDS)}\n\n")
            sentences = [
                " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 18))).capitalize() + f" ({paragraph}.{j})."
                for j in range(rng.randint(2, 7))
            ]
            text = " ".join(sentences) + "\n\n"
            out.write(text)
            written += len(text)
            paragraph += 1
    return path.stat().st_size


def _kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def ingest_one(path: Path) -> dict:
    """In this (fresh) process: set up, warm up on a small file, then ingest `path` and measure."""
    from bench.common import throwaway_database

    connection, drop = throwaway_database("bench_content_long_document")
    try:
        from content import services

        course = services.course_get_or_create(slug="long")
        with tempfile.TemporaryDirectory() as warm:
            # Imports, the connection pool and the HTTP client come up here, not during the measured ingestion.
            write_document(Path(warm) / "warm-up.md", 0.05, seed=3)
            services.paths_ingest(course=course, paths=[warm])
        before = _kib("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM, the peak, to the current RSS
        started = time.perf_counter()
        report = services.paths_ingest(course=course, paths=[path])
        seconds = time.perf_counter() - started
        peak = _kib("VmHWM")
        [file] = report.files
        assert file.status == "ingested", file.reason
        size = path.stat().st_size
        return {
            "document_mb": round(size / 1e6, 1),
            "sections": file.sections,
            "chunks": file.chunks,
            "seconds": round(seconds, 1),
            "mb_per_s": round(size / 1e6 / seconds, 3),
            "chunks_per_s": round(file.chunks / seconds, 1),
            "rss_before_mb": round(before / 1024, 1),
            "peak_rss_growth_mb": round((peak - before) / 1024, 1),
        }
    finally:
        drop()


def _embedding_server() -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from tests.fake_openai import FakeOpenAI; "
            "fake = FakeOpenAI(); fake.record = lambda path, body: None; fake.start(); print(fake.base_url, flush=True); "
            "sys.stdin.read()",
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    return server, server.stdout.readline().strip()


def main(argv=()) -> list[dict]:
    sizes = [float(a) for a in argv] or SIZES_MB
    server, base_url = _embedding_server()
    env = dict(os.environ, EMBEDDING_BACKEND="openai", EMBEDDING_BASE_URL=base_url, EMBEDDING_MODEL="fake-e5")
    results = []
    print(f"embeddings: OpenAI-compatible backend against tests/fake_openai.py at {base_url} (not the CPU model)")
    try:
        with tempfile.TemporaryDirectory() as folder:
            for megabytes in sizes:
                path = Path(folder) / f"field-notes-{megabytes:g}mb.md"
                write_document(path, megabytes)
                done = subprocess.run(
                    [sys.executable, "-m", "bench.bench_content_long_document", "--one", str(path)],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if done.returncode:
                    print(done.stderr[-3000:])
                    continue
                result = json.loads(done.stdout.strip().splitlines()[-1])
                results.append(result)
                print(result, flush=True)
    finally:
        server.stdin.close()
        server.wait(timeout=10)
    if len(results) == 2:
        small, large = results
        print(
            f"document {large['document_mb'] / small['document_mb']:.1f}x larger, peak RSS growth "
            f"{large['peak_rss_growth_mb']} MB vs {small['peak_rss_growth_mb']} MB"
        )
    return results


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(ingest_one(Path(sys.argv[2]))))
    else:
        main(sys.argv[1:])
