"""`make run`: start the Procfile's processes and keep them running.

honcho (and foreman) stop everything when one process exits, so a crashed worker took the web server
and the embedded services down with it. Here a process that exits on its own is started again after a
short pause that grows while it keeps crashing; the others go on serving. With no REDIS_URL, the
embedded Redis is watched too and started again on its own port. Ctrl-C stops everything.
"""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import environ

from config import embedded

ROOT = Path(__file__).resolve().parent.parent
CHECK_EVERY_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
HEALTHY_AFTER_SECONDS = 60.0  # a process that ran this long before exiting starts again at once


@dataclass
class Managed:
    name: str
    command: str
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restart_at: float = 0.0
    backoff: float = 1.0
    restarts: int = field(default=0)


def procfile(path: Path | None = None) -> list[Managed]:
    """The processes of the Procfile; PRIMER_PROCFILE may name several, joined by ":" (`make run LLM=local` adds
    Procfile.llm-local's model server to the usual ones)."""
    paths = [path] if path else [ROOT / p for p in (os.environ.get("PRIMER_PROCFILE") or "Procfile").split(os.pathsep)]
    entries = []
    for each in paths:
        for line in each.read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#") and ":" in line:
                name, command = line.split(":", 1)
                entries.append(Managed(name=name.strip(), command=command.strip()))
    return entries


def log(name: str, message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {name:>6} | {message}", flush=True)


def start(entry: Managed) -> None:
    # Each child leads its own process group, so stopping it also stops the pool processes it forked.
    entry.process = subprocess.Popen(["bash", "-c", f"exec {entry.command}"], cwd=ROOT, start_new_session=True)
    entry.started_at = time.monotonic()
    log(entry.name, f"started (pid {entry.process.pid})")


def stop_all(entries: list[Managed], timeout: float = 10.0) -> None:
    for entry in entries:
        if entry.process and entry.process.poll() is None:
            os.killpg(entry.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for entry in entries:
        if entry.process:
            try:
                entry.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(entry.process.pid, signal.SIGKILL)


def watch_embedded_redis() -> None:
    port_file = embedded.VAR / "redis" / "port"
    if port_file.exists() and not embedded._port_answers(int(port_file.read_text())):
        log("redis", "embedded Redis is down; starting it again on its port")
        try:
            embedded.redis_url()
        except Exception as error:  # keep supervising the rest; try again on the next check
            log("redis", f"could not start it: {error}")


def supervise(entries: list[Managed], *, embedded_redis: bool) -> None:
    stopping = False

    def request_stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    for entry in entries:
        start(entry)
    while not stopping:
        time.sleep(CHECK_EVERY_SECONDS)
        now = time.monotonic()
        for entry in entries:
            if entry.process is not None and entry.process.poll() is not None:
                code = entry.process.returncode
                ran = now - entry.started_at
                entry.backoff = 1.0 if ran > HEALTHY_AFTER_SECONDS else min(entry.backoff * 2, MAX_BACKOFF_SECONDS)
                entry.restart_at = now + entry.backoff
                entry.process = None
                log(entry.name, f"exited with {code} after {ran:.0f} s; starting again in {entry.backoff:.0f} s")
            if entry.process is None and now >= entry.restart_at and not stopping:
                entry.restarts += 1
                start(entry)
        if embedded_redis:
            watch_embedded_redis()
    log("primer", "stopping")
    stop_all(entries)


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    environ.Env.read_env(ROOT / ".env", overwrite=False)  # as the settings will, to see REDIS_URL from .env too
    embedded_redis = not os.environ.get("REDIS_URL")
    entries = procfile()
    if len(sys.argv) > 1:
        entries = [e for e in entries if e.name in sys.argv[1:]]
    supervise(entries, embedded_redis=embedded_redis)
    return 0


if __name__ == "__main__":
    sys.exit(main())
