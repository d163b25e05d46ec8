"""Run the benchmarks and write docs/benchmarks.md.

    python benchmarks/run.py                      # everything, sizes 10k, 100k and 1M
    python benchmarks/run.py --sizes 10000,100000 --repeat 3 --only extract,full
    tox -e bench                                  # the same, in the benchmark environment

Each measurement runs in a child process of its own, so its wall time and peak memory (the
child's maximum resident set, from ``wait4``) are its alone. Every figure is the median of
``--repeat`` runs, with the minimum and maximum. Generated Sage 50 files are cached in
benchmarks/.data/ (they are seeded, so the cache is only a time saver).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / ".data"
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "benchmarks.md"
SEED = 42
PYTHON = sys.executable


def measure(command: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run ``command``; return (seconds, peak RSS in MiB) of that process alone."""
    started = time.perf_counter()
    process = subprocess.Popen(
        list(command), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    stderr = process.stderr.read().decode() if process.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(command)} exited {code}: {stderr[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def company(size: int) -> Path:
    """A generated Sage 50 export with ``size`` transactions (cached)."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"sage50-{size}.json"
    if not path.exists():
        print(f"  generating {path.name} …", flush=True)
        subprocess.run(
            [PYTHON, "-m", "migrationkit", "generate", "sage50", str(path), "-n", str(size), "--seed", str(SEED)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return path


def changed_copy(path: Path, share: float) -> Path:
    """A copy of the export where ``share`` of the transactions have a changed description.

    The generator writes one transaction per line, so the change is a plain text edit that
    keeps the file valid; every tenth header (for share 0.1) gets " (amended)" in its details.
    """
    target = path.with_name(path.stem + f"-changed{int(share * 100)}.json")
    if target.exists():
        return target
    every = round(1 / share)
    count = 0
    with path.open("r", encoding="utf-8") as source, target.open("w", encoding="utf-8") as out:
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
    return target


def cli(*args: str) -> list[str]:
    return [PYTHON, "-m", "migrationkit", "--quiet", *args]


class Bench:
    def __init__(self, repeat: int, work: Path) -> None:
        self.repeat = repeat
        self.work = work
        self.rows: list[dict[str, Any]] = []

    def record(self, name: str, size: int, runs: list[tuple[float, float]], **extra: Any) -> dict[str, Any]:
        seconds = [r[0] for r in runs]
        memory = [r[1] for r in runs]
        row = {
            "benchmark": name,
            "transactions": size,
            "seconds": statistics.median(seconds),
            "seconds_min": min(seconds),
            "seconds_max": max(seconds),
            "rate": size / statistics.median(seconds),
            "mib": statistics.median(memory),
            "mib_max": max(memory),
            **extra,
        }
        self.rows.append(row)
        print(
            f"  {name:<10} {size:>9,}  {row['seconds']:8.2f} s "
            f"({row['seconds_min']:.2f}–{row['seconds_max']:.2f})  {row['rate']:>10,.0f} tx/s  "
            f"{row['mib']:7.1f} MiB",
            flush=True,
        )
        return row

    def repeated(self, prepare: Callable[[], None], command: Callable[[], Sequence[str]]) -> list[tuple[float, float]]:
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


def bench_extract(bench: Bench, size: int) -> None:
    path = company(size)
    script = (
        "import sys\nfrom migrationkit import PluginRegistry, ENTITY_ORDER\n"
        "s = PluginRegistry().open('sage50-json', {'location': sys.argv[1]})\n"
        "n = sum(1 for e in ENTITY_ORDER for _ in s.extract(e))\n"
    )
    runs = bench.repeated(lambda: None, lambda: [PYTHON, "-c", script, str(path)])
    bench.record("extract", size, runs)


def bench_validate(bench: Bench, size: int) -> None:
    path = company(size)
    runs = bench.repeated(lambda: None, lambda: cli("validate", f"sage50-json:{path}"))
    bench.record("validate", size, runs)


def _migrate(bench: Bench, path: Path, mode: str = "migrate") -> list[str]:
    return cli(
        "--state", str(bench.work / "state" / "s.db"), mode, f"sage50-json:{path}",
        f"csv:{bench.work / 'out'}", "--skip-validation", "--report-dir", str(bench.work / "reports"),
    )  # fmt: skip


def bench_full(bench: Bench, size: int) -> None:
    """Full run, then a re-run with nothing changed, then a delta with 10% changed."""
    path = company(size)
    changed = changed_copy(path, 0.10)
    full_runs, rerun_runs, delta_runs = [], [], []
    for _ in range(bench.repeat):
        bench.fresh("state", "out", "reports")()
        full_runs.append(measure(_migrate(bench, path)))
        rerun_runs.append(measure(_migrate(bench, path)))
        delta_runs.append(measure(_migrate(bench, changed, "delta")))
    full = bench.record("full", size, full_runs)
    rerun = bench.record("rerun", size, rerun_runs)
    delta = bench.record("delta10", size, delta_runs)
    rerun["share_of_full"] = rerun["seconds"] / full["seconds"]
    delta["share_of_full"] = delta["seconds"] / full["seconds"]
    print(f"  re-run {rerun['share_of_full']:.1%} of full, delta {delta['share_of_full']:.1%}")


def bench_dlt(bench: Bench, size: int) -> None:
    """The same transactions loaded by dlt into duckdb, beside our full run, in one go."""
    try:
        import dlt  # noqa: F401
    except ImportError:
        print("  dlt is not installed here: pip install '.[bench]' (or tox -e bench)")
        return
    path = company(size)
    runs = []
    for _ in range(bench.repeat):
        bench.fresh("state", "out", "reports", "dlt")()
        ours = measure(_migrate(bench, path))
        theirs = measure([PYTHON, str(ROOT / "benchmarks" / "dlt_load.py"), str(path), str(bench.work / "dlt")])
        runs.append((ours, theirs))
    ours_row = bench.record("full", size, [r[0] for r in runs], compared_with="dlt")
    theirs_row = bench.record("dlt", size, [r[1] for r in runs])
    theirs_row["ratio"] = theirs_row["seconds"] / ours_row["seconds"]
    print(f"  dlt takes {theirs_row['ratio']:.1f}x as long as migrationkit")


BENCHES = {
    "extract": bench_extract,
    "validate": bench_validate,
    "full": bench_full,
    "dlt": bench_dlt,
}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default=",".join(BENCHES))
    parser.add_argument("--work", default=str(DATA / "work"))
    parser.add_argument("--json", default=str(RESULTS / "latest.json"))
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    bench = Bench(args.repeat, work)
    for name in args.only.split(","):
        for size in sizes:
            print(f"{name} at {size:,} transactions", flush=True)
            BENCHES[name](bench, size)
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "command": "python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "rows": bench.rows,
    }
    Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    print(f"results in {args.json}")


if __name__ == "__main__":
    main()
