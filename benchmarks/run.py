"""Run the benchmarks and write docs/benchmarks.md.

    python benchmarks/run.py                      # everything, sizes 10k, 100k and 1M, 3 shapes
    python benchmarks/run.py --sizes 10000,100000 --repeat 3 --only validate,full,dlt
    python benchmarks/run.py --shapes compact --sizes 100000 --repeat 1
    tox -e bench                                  # the same, in the benchmark environment

Each measurement runs in a child process of its own, so its wall time and peak memory (the
child's maximum resident set, from ``wait4``, and the summed resident set of its process tree)
are its alone. Every figure is the median of ``--repeat`` runs, with the minimum and maximum.

Every migration is the default command a user types (``migrationkit migrate``, validation on).
The data come in three shapes: ``ours``, the project's generator (``migrationkit generate
sage50``, one transaction per line); ``compact`` and ``pretty``, a company written by
``benchmarks/foreign.py``, a producer that shares no code with ours, as one compact line and
indented. Generated files are cached in benchmarks/.data/ (they are seeded, so the cache is only
a time saver; the 1M files take about 0.7 GB each, 2 GB with the pretty one).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / ".data"
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "benchmarks.md"
SEED = 42
FOREIGN_SEED = 17
PYTHON = sys.executable
SHAPES = ("ours", "compact", "pretty")


def _tree_rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants, in KiB (Linux /proc; 0 elsewhere)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return total


class _TreeSampler(threading.Thread):
    """Samples the summed RSS of a process tree (the Sage 50 source's worker is a grandchild)."""

    def __init__(self, pid: int, every: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.peak_kib = pid, every, 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.every):
            self.peak_kib = max(self.peak_kib, _tree_rss_kib(self.pid))


def measure(
    command: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[float, float, float, float]:
    """Run ``command``; return (seconds, peak RSS of the process, peak RSS of its tree, CPU s).

    The process's own peak is exact (``wait4``); the tree's is sampled every 20 ms, summing
    every descendant alive at that moment, so it counts a worker process beside its parent.
    The CPU seconds (user and system, of the process and the children it waited for) say how
    much work the run was, whatever else the machine was doing.
    """
    started = time.perf_counter()
    process = subprocess.Popen(
        list(command), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    sampler = _TreeSampler(process.pid)
    sampler.start()
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    stderr = process.stderr.read().decode() if process.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(command)} exited {code}: {stderr[-2000:]}")
    own = usage.ru_maxrss / 1024
    return elapsed, own, max(own, sampler.peak_kib / 1024), usage.ru_utime + usage.ru_stime


def company(size: int, shape: str = "ours") -> Path:
    """A Sage 50 export of ``size`` transactions in ``shape`` (cached in benchmarks/.data/)."""
    DATA.mkdir(parents=True, exist_ok=True)
    if shape != "ours":
        return foreign(size, shape)
    path = DATA / f"sage50-{size}.json"
    if not path.exists():
        print(f"  generating {path.name} …", flush=True)
        partial = path.with_name(path.name + ".part")
        subprocess.run(
            [
                PYTHON,
                "-m",
                "migrationkit",
                "generate",
                "sage50",
                str(partial),
                "-n",
                str(size),
                "--seed",
                str(SEED),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        partial.replace(path)
    return path


def foreign(size: int, layout: str, changed: float = 0.0) -> Path:
    """The company of ``benchmarks/foreign.py`` in ``layout``, optionally with changes."""
    suffix = f"-changed{int(changed * 100)}" if changed else ""
    path = DATA / f"foreign-{layout}-{size}{suffix}.json"
    if not path.exists():
        print(f"  writing {path.name} …", flush=True)
        partial = path.with_name(path.name + ".part")
        command = [
            PYTHON, str(ROOT / "benchmarks" / "foreign.py"), str(partial), "-n", str(size),
            "--seed", str(FOREIGN_SEED), "--layout", layout, "--changed", str(changed),
        ]  # fmt: skip
        subprocess.run(command, check=True)
        partial.replace(path)
    return path


def changed_copy(path: Path, share: float) -> Path:
    """A copy of the generator's export where ``share`` of the transactions have new details.

    The generator writes one transaction per line, so the change is a plain text edit that
    keeps the file valid; every tenth header (for share 0.1) gets " (amended)" in its details.
    (The foreign shapes are written again by their producer with ``--changed`` instead.)
    """
    target = path.with_name(path.stem + f"-changed{int(share * 100)}.json")
    if target.exists():
        return target
    every = round(1 / share)
    count = 0
    partial = target.with_name(target.name + ".part")
    with path.open("r", encoding="utf-8") as source, partial.open("w", encoding="utf-8") as out:
        inside = False
        for line in source:
            if inside and line.startswith("{"):
                count += 1
                if count % every == 0:
                    record = json.loads(line.rstrip().rstrip(","))
                    record["details"] = (record["details"] + " (amended)")[:60]
                    line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + (
                        ",\n" if line.rstrip().endswith(",") else "\n"
                    )
            elif line.startswith('"transactions"') or line.rstrip().endswith('"transactions":['):
                inside = True
            out.write(line)
    partial.replace(target)
    return target


def changed(size: int, shape: str, share: float = 0.10) -> Path:
    """The export of ``size`` and ``shape`` with ``share`` of its transactions changed."""
    if shape == "ours":
        return changed_copy(company(size), share)
    return foreign(size, shape, share)


def cli(*args: str) -> list[str]:
    return [PYTHON, "-m", "migrationkit", "--quiet", *args]


Run = tuple[float, float, float, float]


class Bench:
    def __init__(self, repeat: int, work: Path) -> None:
        self.repeat = repeat
        self.work = work
        self.rows: list[dict[str, Any]] = []

    def record(
        self, name: str, size: int, shape: str, runs: list[Run], **extra: Any
    ) -> dict[str, Any]:
        seconds = [r[0] for r in runs]
        tree = [r[2] for r in runs]
        row = {
            "benchmark": name,
            "shape": shape,
            "transactions": size,
            "runs": len(runs),
            "seconds": statistics.median(seconds),
            "seconds_min": min(seconds),
            "seconds_max": max(seconds),
            "rate": size / statistics.median(seconds),
            "mib": statistics.median(r[1] for r in runs),
            "tree_mib": statistics.median(tree),
            "tree_mib_max": max(tree),
            "cpu_seconds": statistics.median(r[3] for r in runs),
            **extra,
        }
        self.rows.append(row)
        print(
            f"  {name:<10} {shape:<8} {size:>9,}  {row['seconds']:8.2f} s "
            f"({row['seconds_min']:.2f}–{row['seconds_max']:.2f}, cpu {row['cpu_seconds']:.2f})"
            f"  {row['rate']:>10,.0f} tx/s  {row['mib']:7.1f} MiB (tree {row['tree_mib']:.1f})",
            flush=True,
        )
        return row

    def repeated(self, prepare: Callable[[], None], command: Callable[[], list[str]]) -> list[Run]:
        runs = []
        for _ in range(self.repeat):
            prepare()
            runs.append(measure(command()))
        return runs

    def fresh(self, *names: str) -> Callable[[], None]:
        def clear() -> None:
            for name in names:
                shutil.rmtree(self.work / name, ignore_errors=True)

        return clear


def bench_extract(bench: Bench, size: int, shape: str) -> None:
    """The Sage 50 source alone: read and map every record, load nothing."""
    path = company(size, shape)
    script = (
        "import sys\nfrom migrationkit import PluginRegistry, ENTITY_ORDER\n"
        "s = PluginRegistry().open('sage50-json', {'location': sys.argv[1]})\n"
        "n = sum(1 for e in ENTITY_ORDER for _ in s.extract(e))\n"
    )
    runs = bench.repeated(lambda: None, lambda: [PYTHON, "-c", script, str(path)])
    bench.record("extract", size, shape, runs)


def bench_validate(bench: Bench, size: int, shape: str) -> None:
    """``migrationkit validate`` alone, every rule of the format."""
    path = company(size, shape)
    runs = bench.repeated(lambda: None, lambda: cli("validate", f"sage50-json:{path}"))
    bench.record("validate", size, shape, runs)


def _migrate(bench: Bench, path: Path, mode: str = "migrate") -> list[str]:
    """The default command a user types: validation on, a state store, CSV out."""
    work = bench.work
    return cli(
        "--state", str(work / "state" / "s.db"), mode, f"sage50-json:{path}", f"csv:{work / 'out'}",
        "--report-dir", str(work / "reports"),
    )  # fmt: skip


def _dlt(bench: Bench, path: Path) -> list[str]:
    loader = ROOT / "benchmarks" / "dlt_load.py"
    return [PYTHON, str(loader), str(path), str(bench.work / "dlt")]


def bench_full(bench: Bench, size: int, shape: str, peer: bool = False) -> None:
    """Full run, a re-run with nothing changed, a delta with 10% changed; with ``peer``, dlt.

    The four alternate in each repetition, so the peer meets the same machine as our run.
    """
    path = company(size, shape)
    delta_path = changed(size, shape)
    if peer and not _has_dlt():
        peer = False
    full_runs, rerun_runs, delta_runs, dlt_runs = [], [], [], []
    for _ in range(bench.repeat):
        bench.fresh("state", "out", "reports")()
        full_runs.append(measure(_migrate(bench, path)))
        rerun_runs.append(measure(_migrate(bench, path)))
        delta_runs.append(measure(_migrate(bench, delta_path, "delta")))
        if peer:
            dlt_runs.append(measure(_dlt(bench, path)))
    full = bench.record("full", size, shape, full_runs)
    rerun = bench.record("rerun", size, shape, rerun_runs)
    delta = bench.record("delta10", size, shape, delta_runs)
    rerun["share_of_full"] = rerun["seconds"] / full["seconds"]
    delta["share_of_full"] = delta["seconds"] / full["seconds"]
    print(f"  re-run {rerun['share_of_full']:.1%} of full, delta {delta['share_of_full']:.1%}")
    if peer:
        _peer(bench, size, shape, full, dlt_runs)


def _has_dlt() -> bool:
    try:
        import dlt  # noqa: F401
    except ImportError:
        print("  dlt is not installed here: pip install '.[bench]' (or tox -e bench)")
        return False
    return True


def _peer(bench: Bench, size: int, shape: str, ours: dict[str, Any], runs: list[Run]) -> None:
    theirs = bench.record("dlt", size, shape, runs)
    theirs["ratio"] = theirs["seconds"] / ours["seconds"]
    theirs["ours_seconds"] = ours["seconds"]
    theirs["ours_tree_mib"] = ours["tree_mib"]
    print(f"  dlt takes {theirs['ratio']:.2f}x as long as migrationkit")


def bench_dlt(bench: Bench, size: int, shape: str) -> None:
    """The same export loaded by dlt into duckdb, alternating with our full run, in one go."""
    if not _has_dlt():
        return
    path = company(size, shape)
    ours_runs, theirs_runs = [], []
    for _ in range(bench.repeat):
        bench.fresh("state", "out", "reports")()
        ours_runs.append(measure(_migrate(bench, path)))
        theirs_runs.append(measure(_dlt(bench, path)))
    ours = bench.record("ours", size, shape, ours_runs)
    _peer(bench, size, shape, ours, theirs_runs)


def bench_profile(bench: Bench, size: int, shape: str) -> None:
    """One full run under cProfile; the top functions by own time go into the results."""
    path = company(size, shape)
    bench.fresh("state", "out", "reports")()
    output = bench.work / "profile.out"
    command = _migrate(bench, path)
    command[1:1] = ["-m", "cProfile", "-o", str(output)]
    runs = [measure(command)]
    stats = pstats.Stats(str(output))
    total = sum(entry[2] for entry in stats.stats.values())  # type: ignore[attr-defined]
    top = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)  # type: ignore[attr-defined]
    rows = [
        {
            "function": f"{Path(where).name}:{line} {name}",
            "own_seconds": round(timing[2], 3),
            "share": round(timing[2] / total, 4),
            "calls": timing[1],
        }
        for (where, line, name), timing in top[:15]
    ]
    areas = profile_areas(stats)
    bench.record(
        "profile", size, shape, runs, top=rows, areas=areas, profiled_seconds=round(total, 2)
    )


_BUILTIN_AREAS = (
    ("sqlite3", "sqlite3 (C)"),
    ("_csv", "csv module (C)"),
    ("fsync", "fsync"),
    ("_io", "file reads and writes"),
    ("decimal", "decimal (C)"),
    ("blake2", "hashing"),
    ("hashlib", "hashing"),
)


def _area(where: str, name: str) -> str:
    if where == "~":
        for token, label in _BUILTIN_AREAS:
            if token in name:
                return label
        return "small built-in calls (dict.get, format, isinstance, repr, …)"
    if where.startswith("<attrs generated"):
        return "attrs-generated `__init__` and validators"
    if where.startswith("<fingerprint"):
        return "core/fingerprint.py"
    if "/migrationkit/" in where:
        return where.rsplit("/migrationkit/", 1)[1]
    if "/json/" in where:
        return "json (standard library)"
    return "other: " + Path(where).name


def profile_areas(stats: pstats.Stats, count: int = 14) -> list[dict[str, Any]]:
    """Own time summed by module (ours by path, the standard library and C built-ins by kind)."""
    totals: dict[str, float] = {}
    for (where, _line, name), timing in stats.stats.items():  # type: ignore[attr-defined]
        area = _area(where, name)
        totals[area] = totals.get(area, 0.0) + timing[2]
    overall = sum(totals.values())
    ranked = sorted(totals.items(), key=lambda item: item[1], reverse=True)[:count]
    return [
        {"area": area, "own_seconds": round(seconds, 3), "share": round(seconds / overall, 4)}
        for area, seconds in ranked
    ]


BENCHES: dict[str, Callable[[Bench, int, str], None]] = {
    "extract": bench_extract,
    "validate": bench_validate,
    "full": bench_full,
    "dlt": bench_dlt,
    "profile": bench_profile,
}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="ours, compact, pretty")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default=",".join(BENCHES))
    parser.add_argument("--work", default=str(DATA / "work"))
    parser.add_argument("--json", default=str(RESULTS / "latest.json"))
    parser.add_argument("--profile-size", type=int, default=100_000)
    parser.add_argument(
        "--commit", default=None, help="the commit measured, if not HEAD (PYTHONPATH runs)"
    )
    parser.add_argument(
        "--render-only", action="store_true", help="write docs/benchmarks.md from saved results"
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the rows of --json this run does not measure again (e.g. add 1M to 10k/100k)",
    )
    args = parser.parse_args(argv)
    if not args.render_only:
        run(args, argv)
    if Path(args.json).resolve() == (RESULTS / "latest.json").resolve():
        from render import render

        DOC.write_text(render(RESULTS))
        print(f"wrote {DOC.relative_to(ROOT)}")


def run(args: argparse.Namespace, argv: Sequence[str] | None) -> None:
    sizes = [int(s) for s in args.sizes.split(",")]
    shapes = [s.strip() for s in args.shapes.split(",")]
    names = [n.strip() for n in args.only.split(",")]
    for name in names:
        if name not in BENCHES:
            raise SystemExit(f"unknown benchmark {name!r}: choose from {', '.join(BENCHES)}")
    for shape in shapes:
        if shape not in SHAPES:
            raise SystemExit(f"unknown shape {shape!r}: choose from {', '.join(SHAPES)}")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    bench = Bench(args.repeat, work)
    for name in names:
        if name == "dlt" and "full" in names:
            continue  # measured beside each full run
        for shape in shapes:
            for size in [args.profile_size] if name == "profile" else sizes:
                print(f"{name} at {size:,} transactions, {shape}", flush=True)
                if name == "full":
                    bench_full(bench, size, shape, peer="dlt" in names)
                else:
                    BENCHES[name](bench, size, shape)
    RESULTS.mkdir(parents=True, exist_ok=True)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    payload = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "commit": args.commit or _commit(),
        # The command as run, with FILE for the export and WORK for the work folder (--work).
        "migrate": " ".join(_migrate(bench, Path("FILE"))[3:]).replace(str(bench.work), "WORK"),
        "command": "python benchmarks/run.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "rows": bench.rows,
    }
    if args.merge and Path(args.json).exists():
        payload["rows"] = _merged(json.loads(Path(args.json).read_text()), payload)
    Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    print(f"results in {args.json}")


def _merged(before: dict[str, Any], now: dict[str, Any]) -> list[dict[str, Any]]:
    """Earlier rows not measured again (marked with their own run), then this run's rows."""

    def key(row: dict[str, Any]) -> tuple[str, str, int]:
        return row["benchmark"], row.get("shape", "ours"), row["transactions"]

    measured = {key(row) for row in now["rows"]}
    kept = [
        {"measured": {k: before.get(k) for k in ("when", "commit", "command")}, **row}
        for row in before["rows"]
        if key(row) not in measured
    ]
    return [*kept, *now["rows"]]


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


if __name__ == "__main__":
    main()
