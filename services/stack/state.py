"""Where the local stack lives on disk and what `.local/stack.json` records about it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def stack_home() -> Path:
    """The stack root: $CARELEDGER_HOME, else `<repo>/.local`."""
    return Path(os.environ.get("CARELEDGER_HOME") or REPO_ROOT / ".local").resolve()


def kafka_libs_dir() -> Path:
    """Broker jars: $CARELEDGER_KAFKA_LIBS (a shared cache), else `<home>/kafka-libs`."""
    configured = os.environ.get("CARELEDGER_KAFKA_LIBS")
    return Path(configured).resolve() if configured else stack_home() / "kafka-libs"


def logs_dir() -> Path:
    return stack_home() / "logs"


def stack_file() -> Path:
    return stack_home() / "stack.json"


@dataclass
class Component:
    """One process of the stack: what it is, its pid, and the port it answers on (if any)."""

    name: str
    pid: int | None = None
    port: int | None = None
    url: str | None = None
    log: str | None = None
    managed: bool = True


@dataclass
class StackInfo:
    """Connection facts for the running stack, as written to stack.json."""

    home: str
    database_url: str
    kafka_bootstrap: str
    kafka_version: str = ""
    service_urls: dict[str, str] = field(default_factory=dict)  # service name -> API base URL
    # How clients reach a broker that takes TLS + SCRAM only (`stack up --kafka-tls`): the
    # `kafka_*` settings of services/common/settings.py without the prefix; {} for PLAINTEXT.
    kafka_security: dict[str, str] = field(default_factory=dict)
    components: dict[str, Component] = field(default_factory=dict)

    @property
    def ports(self) -> dict[str, int]:
        return {n: c.port for n, c in self.components.items() if c.port is not None}

    @property
    def pids(self) -> dict[str, int]:
        return {n: c.pid for n, c in self.components.items() if c.pid is not None}


class StackNotRunningError(RuntimeError):
    """There is no stack.json: `careledger stack up` has not been run for this home."""


def read_stack_info(path: Path | None = None) -> StackInfo:
    """Read stack.json; raise StackNotRunningError if there is none."""
    target = path or stack_file()
    if not target.exists():
        raise StackNotRunningError(f"{target} not found: run `careledger stack up --infra-only`")
    raw = json.loads(target.read_text())
    components = {n: Component(**c) for n, c in raw.pop("components", {}).items()}
    return StackInfo(**raw, components=components)


def write_stack_info(info: StackInfo, path: Path | None = None) -> None:
    target = path or stack_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(info), indent=2) + "\n")
    tmp.replace(target)


def pid_alive(pid: int | None) -> bool:
    """True when the pid runs and is not a zombie (a zombie is a process that already exited)."""
    if not pid:
        return False
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own exited child
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def port_answers(port: int | None, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    if not port:
        return False
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def stop_pid(pid: int, timeout: float = 20.0) -> None:
    """SIGTERM the process (its group when it leads one), then SIGKILL after `timeout`."""
    stop_pids([pid], timeout)


def stop_pids(pids: list[int], timeout: float = 20.0) -> None:
    """SIGTERM them all at once, wait for them together, SIGKILL what is left after `timeout`."""
    alive = [pid for pid in pids if pid_alive(pid)]
    for pid in alive:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in alive if pid_alive(pid)]
    for pid in alive:
        _signal(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while any(pid_alive(pid) for pid in alive) and time.monotonic() < deadline:
        time.sleep(0.1)


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"
