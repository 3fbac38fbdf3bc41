"""Load generators for bench/token_endpoint.py: wrk (preferred) and a bounded Python fallback.

Both POST one token request over and over for a fixed duration on `connections` connections
and return the same result dictionary. With an assertion file (private_key_jwt), every
request carries a different pre-signed assertion, taken from line `offset` on, each once. With
a file of Authorization headers (--applications), the requests take them in turn, round-robin.
"""
import http.client
import itertools
import json
import re
import resource
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

LUA_SCRIPT = Path(__file__).resolve().parent / "token.lua"


@dataclass
class Load:
    url: str                            # http://127.0.0.1:PORT/path
    body: str                           # the whole body, or its prefix ending "client_assertion="
    authorization: str = ""             # the Authorization header value, "" for none
    connection_close: bool = False      # a new TCP connection per request
    assertions: Path | None = None      # pre-signed assertions, one per line
    authorizations: Path | None = None  # Authorization header values, one per line, used round-robin
    offset: int = 0                     # first line of `assertions` to use


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def run(load: Load, seconds: float, connections: int, generator: str, wrk_threads: int = 2) -> dict:
    if generator == "wrk":
        return run_wrk(load, seconds, connections, wrk_threads)
    return run_python(load, seconds, connections)


# --- wrk ------------------------------------------------------------------------------------

def run_wrk(load: Load, seconds: float, connections: int, threads: int) -> dict:
    threads = max(1, min(threads, connections))
    authorization = f"@{load.authorizations}" if load.authorizations is not None else load.authorization
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
               "--timeout", "10s", "-s", str(LUA_SCRIPT), load.url, "--",
               load.body, authorization, "1" if load.connection_close else "0"]
    if load.assertions is not None:
        command += [str(load.assertions), str(load.offset), str(threads)]
    elif load.authorizations is not None:
        command += ["-", "0", str(threads)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip() or completed.stdout}")
    match = re.search(r"^BENCH_JSON (\{.*\})$", completed.stdout, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no BENCH_JSON line:\n{completed.stdout}\n{completed.stderr}")
    stats = json.loads(match.group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", completed.stdout)
    duration = stats["duration_us"] / 1e6
    return {
        "generator": f"wrk -t{threads} -c{connections}",
        "requests": stats["requests"],
        "seconds": duration,
        "rps": stats["requests"] / duration if duration else 0.0,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": {k: stats[f"errors_{k}"] for k in ("connect", "read", "write", "timeout")},
        "p50_ms": stats["latency_p50_us"] / 1000,
        "p90_ms": stats["latency_p90_us"] / 1000,
        "p99_ms": stats["latency_p99_us"] / 1000,
        "exhausted": stats["exhausted"],
        "next_offset": load.offset + threads * stats["max_sent_per_thread"],
        "generator_cpu_s": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        "raw": completed.stdout,
    }


# --- Python fallback ------------------------------------------------------------------------

def run_python(load: Load, seconds: float, connections: int) -> dict:
    """`connections` threads, each on its own keep-alive connection, until the deadline.

    Python's GIL makes this generator CPU-hungry: it takes cores from the server under test,
    so its numbers are lower than wrk's (the ratio to the peer, measured the same way, still holds).
    """
    parts = urlsplit(load.url)
    base_headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if load.authorization:
        base_headers["Authorization"] = load.authorization
    if load.connection_close:
        base_headers["Connection"] = "close"
    lock = threading.Lock()
    assertions = iter(load.assertions.read_text().splitlines()[load.offset:]) if load.assertions else None
    authorizations = itertools.cycle(load.authorizations.read_text().splitlines()) if load.authorizations else None
    taken = [0]
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    exhausted = [0]
    deadline = time.monotonic() + seconds

    def next_body() -> str:
        if assertions is None:
            return load.body
        with lock:
            assertion = next(assertions, None)
            taken[0] += 1
            if assertion is None:
                exhausted[0] += 1
                return load.body + "exhausted"
            return load.body + assertion

    def worker():
        headers = base_headers
        connection = None
        mine_status, mine_latency = {}, []
        while time.monotonic() < deadline:
            if connection is None:
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            if authorizations is not None:
                with lock:
                    headers = {**base_headers, "Authorization": next(authorizations)}
            started = time.perf_counter()
            try:
                connection.request("POST", parts.path, next_body(), headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as error:
                errors["timeout" if isinstance(error, TimeoutError) else "read"] += 1
                connection.close()
                connection = None
                continue
            mine_latency.append(time.perf_counter() - started)
            mine_status[response.status] = mine_status.get(response.status, 0) + 1
            if response.will_close:
                connection.close()
                connection = None
        if connection is not None:
            connection.close()
        with lock:
            for status, count in mine_status.items():
                statuses[status] = statuses.get(status, 0) + count
            latencies.extend(mine_latency)

    cpu_before, started = time.process_time(), time.monotonic()
    workers = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=seconds + 30)
    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu_before
    latencies.sort()

    def percentile(p):
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000 if latencies else 0.0

    requests = sum(statuses.values())
    return {
        "generator": f"python threads={connections}",
        "requests": requests,
        "seconds": elapsed,
        "rps": requests / elapsed if elapsed else 0.0,
        "non_2xx": sum(count for status, count in statuses.items() if not 200 <= status < 400),
        "socket_errors": errors,
        "p50_ms": percentile(0.50),
        "p90_ms": percentile(0.90),
        "p99_ms": percentile(0.99),
        "exhausted": exhausted[0],
        "next_offset": load.offset + taken[0],
        "generator_cpu_s": cpu,
        "raw": json.dumps(statuses),
    }
