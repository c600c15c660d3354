"""`make run` keeps going when one of its processes dies, and the embedded Redis keeps its port."""

import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import ROOT, free_port, process_env, wait_for_port


def pids_matching(pattern: str) -> set[int]:
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()
    return {int(pid) for pid in found}


def wait_until(check, timeout: float = 60.0, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(every)
    raise AssertionError(f"gave up after {timeout} s waiting for {check.__name__}")


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_is_started_again_while_the_web_server_keeps_serving(tmp_path):
    port = free_port()
    name = f"supervised-{os.getpid()}"
    (tmp_path / "Procfile").write_text(
        f"web: {sys.executable} -m uvicorn config.asgi:application --host 127.0.0.1 --port {port} --log-level warning\n"
        f"worker: {sys.executable} -m celery -A config worker --pool solo --loglevel WARNING --hostname {name}@%h "
        "--without-gossip --without-mingle\n"
    )
    log = open(tmp_path / "run.log", "wb")
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "config.run"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=process_env(PRIMER_PROCFILE=str(tmp_path / "Procfile")),
    )
    try:
        wait_for_port(port, timeout=60)
        first = wait_until(lambda: pids_matching(f"hostname {name}@"))
        for pid in first:
            os.kill(pid, signal.SIGKILL)
        # The web server answers throughout, and a new worker comes up in the old one's place.
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10).status == 200

        def new_worker():
            return pids_matching(f"hostname {name}@") - first

        assert wait_until(new_worker)
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10).status == 200
        assert supervisor.poll() is None
    finally:
        supervisor.send_signal(signal.SIGINT)
        supervisor.wait(timeout=30)
        log.close()
    assert not pids_matching(f"hostname {name}@"), "Ctrl-C stops every process"
    assert "worker | exited with" in (tmp_path / "run.log").read_text()


def test_a_command_that_finds_the_embedded_redis_down_restarts_it_on_the_same_port(tmp_path):
    env = {**os.environ, "PRIMER_VAR_DIR": str(tmp_path / "var")}
    start = [sys.executable, "-c", "from config import embedded; print(embedded.redis_url())"]

    def url() -> str:
        return subprocess.run(start, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout.strip()

    first = url()
    pid_file = tmp_path / "var" / "redis" / "redis.pid"
    try:
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
        wait_until(lambda: not pids_matching(f"redis-server.*{first.rsplit(':', 1)[1].split('/')[0]}"), timeout=10)
        again = url()
        assert again == first, "the port is kept, so processes started earlier reconnect to the new server"
        assert url() == first, "a second caller reuses the running server"
        port = first.rsplit(":", 1)[1].split("/")[0]
        assert len(pids_matching(f"redis-server.*:{port}")) == 1
    finally:
        os.kill(int(pid_file.read_text()), signal.SIGTERM)


def test_make_run_with_the_local_model_adds_its_server_to_the_usual_processes(monkeypatch):
    from config.run import procfile

    monkeypatch.setenv("PRIMER_PROCFILE", "Procfile:Procfile.llm-local")
    names = [entry.name for entry in procfile()]
    assert names == ["web", "worker", "beat", "llm"]
    assert "config.local_llm" in procfile()[-1].command
