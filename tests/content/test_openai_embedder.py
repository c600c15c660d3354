"""EMBEDDING_BACKEND=openai: embeddings come from an OpenAI-compatible /v1/embeddings server (here, a real one on
localhost that speaks the protocol), and ingestion and search work the same."""

import numpy as np
import pytest

from content import retrieval, services
from llm.embeddings import OpenAIEmbedder, get_embedder

pytestmark = pytest.mark.django_db


@pytest.fixture
def openai_embeddings(fake_openai, settings):
    settings.EMBEDDING_BACKEND = "openai"
    settings.EMBEDDING_BASE_URL = fake_openai.base_url
    settings.EMBEDDING_MODEL = "fake-e5"
    get_embedder.cache_clear()
    yield fake_openai
    get_embedder.cache_clear()


def embedding_requests(server) -> list[dict]:
    return [r["body"] for r in server.requests if r["path"].endswith("/embeddings")]


def test_passages_and_queries_are_embedded_by_the_server_normalised(openai_embeddings):
    embedder = get_embedder()
    assert isinstance(embedder.inner, OpenAIEmbedder)
    vectors = embedder.passages(["LoRA trains two thin matrices.", "Over-fitting memorises noise."])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(embedder.query("LoRA trains two thin matrices."), vectors[0], atol=1e-6)
    assert embedding_requests(openai_embeddings)[0]["model"] == "fake-e5"


def test_a_wrong_dimension_from_the_server_is_a_clear_error(openai_embeddings, settings):
    embedder = OpenAIEmbedder(base_url=openai_embeddings.base_url, api_key="k", model="fake-e5", dimensions=768)
    with pytest.raises(ValueError, match="EMBEDDING_DIMENSIONS is 768"):
        embedder.passages(["a passage"])


def test_a_file_ingested_with_the_openai_backend_is_searchable(openai_embeddings, tmp_path):
    (tmp_path / "rank.md").write_text(
        "# Rank\n\n## What rank means\n\nThe rank of a matrix counts its independent "
        "rows. A rank-one matrix is an outer product of two vectors.\n"
    )
    course = services.course_get_or_create(slug="embedded-remotely")
    services.paths_ingest(course=course, paths=[tmp_path / "rank.md"])
    assert embedding_requests(openai_embeddings), "ingestion asked the server for embeddings"
    hits = retrieval.search("independent rows of a matrix", course=course, k=3)
    assert hits and hits[0].source == "rank.md"
