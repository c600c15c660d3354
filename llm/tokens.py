"""Token counts for the daily budget: tiktoken when its encoding is on disk, an estimate otherwise.

tiktoken downloads its encoding files on first use. Primer must run without network access, and a
download attempt inside a request could hang, so we only use an encoding already in tiktoken's
cache (TIKTOKEN_CACHE_DIR, or its default under the temp directory); `make` or an operator can
place o200k_base.tiktoken there. Otherwise: one token per CJK character, one per four other characters,
which is close to what o200k_base gives for the course's text.
"""

import functools
import hashlib
import os
import re
import tempfile

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
ENCODING_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"


def _cache_path() -> str:
    directory = (
        os.environ.get("TIKTOKEN_CACHE_DIR")
        or os.environ.get("DATA_GYM_CACHE_DIR")
        or os.path.join(tempfile.gettempdir(), "data-gym-cache")
    )
    return os.path.join(directory, hashlib.sha1(ENCODING_URL.encode()).hexdigest())


@functools.cache
def encoding():
    if not os.path.exists(_cache_path()):
        return None
    try:
        import tiktoken  # loaded only when its encoding is on disk (see above)

        return tiktoken.get_encoding("o200k_base")
    except Exception:  # noqa: BLE001 -- a corrupt or partial cache file: estimate instead
        return None


def estimate(text: str) -> int:
    cjk = len(CJK.findall(text))
    return cjk + (len(text) - cjk + 3) // 4


def count_tokens(text: str) -> int:
    enc = encoding()
    return len(enc.encode(text, disallowed_special=())) if enc else estimate(text)


def count_messages(messages: list[dict]) -> int:
    # About four tokens of framing per message, as OpenAI's chat format adds.
    return sum(count_tokens(m.get("content") or "") + 4 for m in messages)
