#!/usr/bin/env python3
"""Run the meetdesk services natively, exactly as docker-compose.yml describes them (``make run``).

    python tools/run_local.py                      # migrate, then run the services and the console
    python tools/run_local.py --only booking,metrics
    python tools/run_local.py --no-migrate
    python tools/run_local.py --print              # the resolved plan as JSON; runs nothing

The plan comes from docker-compose.yml: ``${VAR:-default}`` interpolation is resolved from the
current environment (and a ``.env`` file next to the compose file, as compose does), and the
hostnames ``rabbitmq`` and ``postgres`` (and the services' own, which the console names) inside
environment values are mapped to 127.0.0.1 so the local RabbitMQ and PostgreSQL are used (local
PostgreSQL uses trust auth, so the compose credentials still work). Services whose ``restart`` is
``"no"`` are one-shot jobs (migrations) and run to completion first; every other project service
(one with ``build``, or the project's image) is started with exactly its compose ``command`` and
``environment``, plus PATH (the venv's bin first), VIRTUAL_ENV and a few locale/home variables.
Ctrl-C/SIGTERM stops everything: SIGTERM to each process group, up to 30 s grace, then SIGKILL; a
second Ctrl-C/SIGTERM while stopping kills at once. The signal handler only counts signals (no lock,
no I/O: a handler that waits for a lock the interrupted main thread holds never returns); the main
thread polls the count.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from shared.access import add_missing_secrets, broker_user, read_env_file
from shared.settings import broker_user_of

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"

#: compose hostnames that mean "the local machine" when running natively
HOST_MAP = {
    "rabbitmq": "127.0.0.1",
    "postgres": "127.0.0.1",
    # the console reaches the services by their compose names; natively they listen on this machine
    "intake": "127.0.0.1",
    "booking": "127.0.0.1",
    "complaints": "127.0.0.1",
    "metrics": "127.0.0.1",
}
#: variables passed through from the caller's environment besides PATH/VIRTUAL_ENV
PASSTHROUGH = ("HOME", "LANG", "LC_ALL", "TERM", "TMPDIR", "TZ")
GRACE_SECONDS = 30.0
READY_TIMEOUT = 90.0


class PlanError(Exception):
    """docker-compose.yml cannot be turned into a local plan."""


# --------------------------------------------------------------------------- interpolation

_VAR = re.compile(
    r"""
    \$(?:
        (?P<escaped>\$)
      | (?P<bare>[A-Za-z_][A-Za-z0-9_]*)
      | \{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>(?:[^{}]|\{[^{}]*\})*))?\}
    )
    """,
    re.VERBOSE,
)


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Resolve compose-style ``$VAR``, ``${VAR}``, ``${VAR:-d}``, ``${VAR-d}``, ``${VAR:?e}``,
    ``${VAR?e}``, ``${VAR:+a}``, ``${VAR+a}`` and ``$$`` in one string."""

    def sub(m: re.Match[str]) -> str:
        if m["escaped"]:
            return "$"
        name = m["bare"] or m["braced"]
        op, arg = m["op"], m["arg"] or ""
        current = env.get(name)
        set_ = current is not None
        nonempty = bool(current)
        if op is None:
            return current or ""
        if op in (":-", "-"):
            use_default = not nonempty if op == ":-" else not set_
            return interpolate(arg, env) if use_default else current or ""
        if op in (":?", "?"):
            missing = not nonempty if op == ":?" else not set_
            if missing:
                raise PlanError(f"required variable {name} is missing: {interpolate(arg, env) or 'no message'}")
            return current or ""
        # ":+" / "+"
        present = nonempty if op == ":+" else set_
        return interpolate(arg, env) if present else ""

    return _VAR.sub(sub, value)


def interpolate_tree(node: Any, env: Mapping[str, str]) -> Any:
    """Interpolate every string value (not keys) of a loaded compose document."""
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [interpolate_tree(v, env) for v in node]
    if isinstance(node, dict):
        return {k: interpolate_tree(v, env) for k, v in node.items()}
    return node


#: compose's ``.env`` (KEY=VALUE, comments, ``export``, quotes), read as the access tools read it
read_dotenv = read_env_file


# --------------------------------------------------------------------------- plan

_URL_HOST = re.compile(r"(?P<prefix>[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/\s]*@)?)(?P<host>[A-Za-z0-9_.-]+)(?=[:/?#,\s]|$)")
_HOST_PORT = re.compile(r"^(?P<host>[A-Za-z0-9_.-]+)(?P<port>:\d+)$")


def map_hosts(value: str, host_map: Mapping[str, str] = HOST_MAP) -> str:
    """Replace compose hostnames in URLs (``scheme://[user:pw@]host``) and in ``host:port`` values."""

    def sub(m: re.Match[str]) -> str:
        return m["prefix"] + host_map.get(m["host"], m["host"])

    value = _URL_HOST.sub(sub, value)
    m = _HOST_PORT.match(value)
    if m and m["host"] in host_map:
        value = host_map[m["host"]] + m["port"]
    return value


@dataclass
class Job:
    """One compose service to run locally. Supports ``job.name`` and ``job["name"]``."""

    name: str
    command: list[str]
    environment: dict[str, str] = field(default_factory=dict)
    depends_on: list[str] = field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    @property
    def port(self) -> int | None:
        port = self.environment.get("MEETDESK_HTTP_PORT")
        return int(port) if port and port.isdigit() else None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("depends_on")
        return d


@dataclass
class Plan:
    migrations: list[Job]
    services: list[Job]
    #: (service name, host, port) of the infrastructure the jobs talk to, after host mapping
    endpoints: list[tuple[str, str, int]] = field(default_factory=list)

    def select(self, names: list[str]) -> Plan:
        """Only these app services, and only the one-shot jobs they depend on."""
        known = {j.name for j in self.services}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise PlanError(f"unknown service(s) {', '.join(unknown)}; one of {', '.join(sorted(known))}")
        services = [j for j in self.services if j.name in names]
        needed = {d for j in services for d in j.depends_on}
        return Plan([m for m in self.migrations if m.name in needed], services, self.endpoints)

    def as_dict(self) -> dict[str, Any]:
        return {
            "migrations": [j.as_dict() for j in self.migrations],
            "services": [j.as_dict() for j in self.services],
        }


def _as_command(raw: Any, name: str) -> list[str]:
    if isinstance(raw, str):
        return shlex.split(raw)
    if isinstance(raw, list) and raw:
        return [str(a) for a in raw]
    raise PlanError(f"service {name!r} has no command")


def _as_environment(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return {str(k): "" if v is None else str(v) for k, v in raw.items()}
    env: dict[str, str] = {}
    for item in raw:  # list form: KEY=VALUE
        key, _, val = str(item).partition("=")
        env[key] = val
    return env


def _port_of(url: str) -> tuple[str, int] | None:
    m = re.match(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?:[^@/]*@)?(?P<host>[^:/?#]+)(?::(?P<port>\d+))?", url)
    if not m:
        return None
    scheme = m["scheme"].split("+")[0]
    default = {"amqp": 5672, "amqps": 5671, "postgresql": 5432, "postgres": 5432}.get(scheme)
    port = int(m["port"]) if m["port"] else default
    return (m["host"], port) if port else None


def project_services(compose: Mapping[str, Any]) -> list[str]:
    """Services built from this project: those with ``build`` or the image a built service uses."""
    services = compose.get("services") or {}
    images = {s.get("image") for s in services.values() if s.get("build") and s.get("image")}
    return [n for n, s in services.items() if s.get("build") or (s.get("image") and s.get("image") in images)]


def plan_from_compose(compose: Mapping[str, Any], host_map: Mapping[str, str] = HOST_MAP) -> Plan:
    """Build the plan from an already-interpolated compose document."""
    services = compose.get("services") or {}
    migrations: list[Job] = []
    apps: list[Job] = []
    endpoints: dict[tuple[str, int], str] = {}
    own = set(project_services(compose))  # the console names the services: they start here, not before
    for name in project_services(compose):
        spec = services[name]
        environment = {k: map_hosts(v, host_map) for k, v in _as_environment(spec.get("environment")).items()}
        depends = spec.get("depends_on") or []
        job = Job(
            name=name,
            command=_as_command(spec.get("command"), name),
            environment=environment,
            depends_on=list(depends),
        )
        (migrations if str(spec.get("restart", "")).lower() == "no" else apps).append(job)
        # which infrastructure does this job reach? (compose hostnames that we mapped)
        raw_env = _as_environment(spec.get("environment"))
        for val in raw_env.values():
            hp = _port_of(val)
            if hp and hp[0] in host_map and hp[0] not in own:
                endpoints.setdefault((host_map[hp[0]], hp[1]), hp[0])
    return Plan(migrations, apps, [(svc, host, port) for (host, port), svc in endpoints.items()])


def load_plan(compose_path: str | os.PathLike[str] = COMPOSE_FILE, env: Mapping[str, str] | None = None) -> Plan:
    """Read docker-compose.yml, interpolate it from ``env`` (default: os.environ plus .env) and plan."""
    path = Path(compose_path)
    if env is None:
        # the services' broker and database passwords (tools/access.py secrets): made once, kept in .env
        added = add_missing_secrets(path.parent / ".env")
        if added:
            print(f"run_local: made {len(added)} passwords for the services' broker users and database roles (.env)")
        env = {**read_dotenv(path.parent / ".env"), **os.environ}
        if not env.get("MEETDESK_API_TOKEN"):
            env["MEETDESK_API_TOKEN"] = local_token()
        if not env.get("MEETDESK_COMMAND_PUBLISHERS"):
            # a local run: guest (loopback-only in RabbitMQ) is the operator at this machine, so `make demo`
            # and `make dlq` may send commands; a deployment names its publishers itself
            env["MEETDESK_COMMAND_PUBLISHERS"] = LOCAL_COMMAND_PUBLISHERS
    with path.open() as f:
        compose = yaml.safe_load(f)
    if not isinstance(compose, dict) or not isinstance(compose.get("services"), dict):
        raise PlanError(f"{path}: no services")
    plan = plan_from_compose(interpolate_tree(compose, env))
    unset = [job.name for job in plan.services if job.environment.get("MEETDESK_API_TOKEN") == ""]
    if unset:  # they would refuse to start (exit 78): say so before starting anything
        raise PlanError(f"MEETDESK_API_TOKEN is not set for {', '.join(unset)}: set a secret of 16 characters or more")
    return plan


LOCAL_TOKEN_FILE = ROOT / ".local-api-token"
LOCAL_COMMAND_PUBLISHERS = '{"guest": {"principal": "operator", "role": "ops", "delegate": true}}'


def uses_service_users(plan: Plan) -> bool:
    """Do the services connect to RabbitMQ as their own users (meetdesk-<service>)? Then the local broker
    needs those users, their permissions and the topology first (tools/access.py broker)."""
    return any(
        broker_user_of(job.environment.get("MEETDESK_AMQP_URL", "")) == broker_user(job.name) for job in plan.services
    )


def local_token() -> str:
    """The API token for a local run when none is configured: made once, kept in .local-api-token
    (git-ignored) so tools and a second `make run` use the same one."""
    if LOCAL_TOKEN_FILE.exists():
        token = LOCAL_TOKEN_FILE.read_text().strip()
        if len(token) >= 16:
            return token
    token = secrets.token_hex(24)
    LOCAL_TOKEN_FILE.write_text(token + "\n")
    LOCAL_TOKEN_FILE.chmod(0o600)
    print(f"run_local: MEETDESK_API_TOKEN was not set; this run uses {token} (kept in {LOCAL_TOKEN_FILE.name})")
    return token


# --------------------------------------------------------------------------- running

COLOURS = ("36", "33", "35", "32", "34", "31")
_print_lock = threading.Lock()


def say(prefix: str, text: str, colour: str | None = None) -> None:
    if colour and sys.stdout.isatty():
        prefix = f"\033[{colour}m{prefix}\033[0m"
    with _print_lock:
        sys.stdout.write(f"{prefix} | {text}\n")
        sys.stdout.flush()


def venv_dir() -> Path | None:
    if sys.prefix != sys.base_prefix:
        return Path(sys.prefix)
    if os.environ.get("VIRTUAL_ENV"):
        return Path(os.environ["VIRTUAL_ENV"])
    local = ROOT / ".venv"
    return local if (local / "bin").is_dir() else None


def process_env(job: Job) -> dict[str, str]:
    """The job's compose environment plus PATH (venv bin first), VIRTUAL_ENV and a few basics."""
    env = {k: os.environ[k] for k in PASSTHROUGH if k in os.environ}
    path = os.environ.get("PATH", os.defpath)
    venv = venv_dir()
    if venv:
        path = f"{venv / 'bin'}{os.pathsep}{path}"
        env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = path
    env["PYTHONUNBUFFERED"] = "1"  # as in the image; keeps prefixed output line by line
    env.update(job.environment)
    return env


def resolve_command(job: Job, env: Mapping[str, str]) -> list[str]:
    exe = shutil.which(job.command[0], path=env["PATH"])
    if exe is None:
        raise PlanError(f"{job.name}: {job.command[0]!r} not found on PATH (is the venv installed? make install)")
    return [exe, *job.command[1:]]


def check_reachable(endpoints: list[tuple[str, str, int]], timeout: float = 2.0) -> list[str]:
    down = []
    for name, host, port in endpoints:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                pass
        except OSError as exc:
            down.append(f"{name} is not reachable at {host}:{port} ({exc.strerror or exc})")
    return down


POLL_SECONDS = 0.1  # how often the main thread looks at the signals and the children


class StopRequests:
    """SIGINT/SIGTERM received, counted by a handler that takes no lock and does no I/O: it runs in
    the main thread between two bytecodes, possibly while that thread holds a lock (a print, a
    ``threading.Event``), so anything that waits there could wait for ever (issue 14, defect 8).
    Everything else reads :attr:`count` from the main loop."""

    def __init__(self) -> None:
        self.count = 0
        self.first: int | None = None

    def __call__(self, signum: int, _frame: Any) -> None:
        if self.first is None:
            self.first = signum
        self.count += 1

    @property
    def requested(self) -> bool:
        return self.count > 0

    def install(self) -> None:
        signal.signal(signal.SIGINT, self)
        signal.signal(signal.SIGTERM, self)


class Runner:
    def __init__(self, stop: StopRequests | None = None) -> None:
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.stop = stop or StopRequests()
        self._pumps: list[threading.Thread] = []

    @property
    def stopping(self) -> bool:
        return self.stop.requested

    def spawn(self, job: Job, colour: str, width: int) -> subprocess.Popen[bytes]:
        env = process_env(job)
        proc = subprocess.Popen(
            resolve_command(job, env),
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: Ctrl-C reaches us, we stop the group
        )
        self.procs[job.name] = proc
        pump = threading.Thread(target=self._pump, args=(job.name.ljust(width), proc, colour), daemon=True)
        pump.start()
        self._pumps.append(pump)
        return proc

    @staticmethod
    def _pump(prefix: str, proc: subprocess.Popen[bytes], colour: str) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            say(prefix, raw.decode(errors="replace").rstrip("\n"), colour)

    def flush(self) -> None:
        for pump in self._pumps:
            pump.join(timeout=2)

    def signal_all(self, sig: int, *, groups_of_exited: bool = False) -> None:
        """``sig`` to the process group of every child still running (``groups_of_exited``: also to
        the groups whose leader has exited, for what it left behind; an empty group is skipped)."""
        for proc in self.procs.values():
            if groups_of_exited or proc.poll() is None:
                try:
                    os.killpg(proc.pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass

    def stop_all(self, grace: float = GRACE_SECONDS) -> None:
        """SIGTERM to every process group, up to ``grace`` seconds, then SIGKILL; a signal received
        meanwhile (a second Ctrl-C) kills at once."""
        signals_before = self.stop.count
        self.signal_all(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while any(p.poll() is None for p in self.procs.values()):
            if self.stop.count > signals_before:
                alive = [n for n, p in self.procs.items() if p.poll() is None]
                say("run_local", f"signalled again: killing {', '.join(alive)}")
                break
            if time.monotonic() >= deadline:
                alive = [n for n, p in self.procs.items() if p.poll() is None]
                say("run_local", f"still running after {grace:.0f}s, killing: {', '.join(alive)}")
                break
            time.sleep(POLL_SECONDS)
        self.signal_all(signal.SIGKILL, groups_of_exited=True)  # also what a child left behind in its group
        for proc in self.procs.values():
            proc.wait()
        self.flush()


def wait_ready(runner: Runner, job: Job, prefix: str, colour: str) -> None:
    port = job.port
    if port is None:
        return
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_TIMEOUT
    proc = runner.procs[job.name]
    while not runner.stopping and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    say(prefix, f"listening on {url} (GET /healthz, /readyz)", colour)
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            say(prefix, f"WARNING: {url}/healthz not answering after {READY_TIMEOUT:.0f}s", colour)
            return
        time.sleep(0.5)


def run_migrations(runner: Runner, jobs: list[Job], width: int) -> None:
    if not jobs:
        return
    say("run_local".ljust(width), f"migrating: {', '.join(j.name for j in jobs)}")
    for i, job in enumerate(jobs):
        runner.spawn(job, COLOURS[i % len(COLOURS)], width)
    while not runner.stopping and any(runner.procs[j.name].poll() is None for j in jobs):
        time.sleep(POLL_SECONDS)
    if runner.stopping:
        return
    failed = [f"{j.name} (exit {runner.procs[j.name].returncode})" for j in jobs if runner.procs[j.name].returncode]
    runner.flush()
    for job in jobs:
        runner.procs.pop(job.name, None)
    if failed:
        raise PlanError(f"migration failed: {', '.join(failed)}")


def run(plan: Plan, migrate: bool = True) -> int:
    down = check_reachable(plan.endpoints)
    if down:
        for line in down:
            print(f"run_local: {line}", file=sys.stderr)
        print(
            "run_local: start them first (e.g. `rabbitmq-server -detached`, "
            "`pg_ctlcluster <version> main start`) or `docker compose up -d rabbitmq postgres`",
            file=sys.stderr,
        )
        return 2

    stop = StopRequests()
    stop.install()
    runner = Runner(stop)
    width = max(len(j.name) for j in [*plan.migrations, *plan.services, Job("run_local", ["-"])])

    me = "run_local".ljust(width)
    try:
        # the compose broker loads its users, permissions and topology at boot; here: the same, once more
        # (idempotent) on the local broker, as root through rabbitmqctl (tools/access.py broker)
        if uses_service_users(plan):
            setup = subprocess.run([sys.executable, str(ROOT / "tools" / "access.py"), "broker"], cwd=ROOT)
            if setup.returncode != 0:
                raise PlanError("could not set up the broker users (tools/access.py broker needs rabbitmqctl, as root)")
        if migrate:
            run_migrations(runner, plan.migrations, width)
            if runner.stopping:
                say(me, "stopping the migrations")
                runner.stop_all()
                return 130
        for i, job in enumerate(plan.services):
            colour = COLOURS[i % len(COLOURS)]
            runner.spawn(job, colour, width)
            threading.Thread(target=wait_ready, args=(runner, job, job.name.ljust(width), colour), daemon=True).start()
        exit_code = 0
        while not runner.stopping:
            exited = [(n, p.returncode) for n, p in runner.procs.items() if p.poll() is not None]
            if exited:
                for name, code in exited:
                    say(me, f"{name} exited with code {code}; stopping the others")
                exit_code = 1
                break
            time.sleep(POLL_SECONDS)
        if runner.stopping:
            say(me, f"stopping (SIGTERM, up to {GRACE_SECONDS:.0f}s grace; Ctrl-C again to kill at once)")
        runner.stop_all()
        return exit_code
    except PlanError as exc:
        runner.stop_all()
        print(f"run_local: {exc}", file=sys.stderr)
        return 1
    except BaseException:
        runner.stop_all()
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", "-f", default=str(COMPOSE_FILE), help="compose file (default: %(default)s)")
    parser.add_argument("--only", help="comma-separated app services to run (and their migrations)")
    parser.add_argument("--no-migrate", action="store_true", help="skip the one-shot migration jobs")
    parser.add_argument("--print", action="store_true", dest="print_plan", help="print the plan as JSON and exit")
    args = parser.parse_args(argv)

    try:
        plan = load_plan(args.file)
        if args.only:
            plan = plan.select([n.strip() for n in args.only.split(",") if n.strip()])
        if args.no_migrate:
            plan = Plan([], plan.services, plan.endpoints)
    except (PlanError, OSError, yaml.YAMLError) as exc:
        print(f"run_local: {exc}", file=sys.stderr)
        return 1

    if args.print_plan:
        json.dump(plan.as_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    return run(plan, migrate=not args.no_migrate)


if __name__ == "__main__":
    sys.exit(main())
