"""Core overheads: listing every plugin in a fresh process, and looking up a loaded plugin by name.

Prints `list_ms` (fresh `import engine; engine.plugins()` minus a bare interpreter start, median)
and `lookup_us` (getting an already loaded plugin's class by name). Goals: under 150 and 50.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import timeit


def fresh_process_ms(code: str, runs: int) -> float:
    """Median wall time of `python -c code` in milliseconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def lookup_us(repeats: int) -> float:
    """Microseconds per by-name lookup of an already imported plugin factory (best of 5)."""
    import engine

    registry = engine.default_registry()
    infos = [i for i in registry.plugins() if i.status == "available"]
    for info in infos:
        registry.factory(info.kind, info.name)
    names = [(i.kind, i.name.upper() + " ") for i in infos]
    timer = timeit.Timer(lambda: [registry.factory(k, n) for k, n in names])
    best = min(timer.repeat(repeat=5, number=repeats))
    return best / (repeats * len(names)) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    runs = 5 if args.quick else 15
    bare = fresh_process_ms("pass", runs)
    listing = fresh_process_ms("import engine; engine.plugins()", runs)
    list_ms = listing - bare
    per_lookup = lookup_us(200 if args.quick else 2000)
    print(f"bare interpreter        {bare:8.1f} ms")
    print(f"import + list plugins   {listing:8.1f} ms  (overhead {list_ms:.1f} ms, goal < 150)")
    print(f"lookup by name          {per_lookup:8.2f} us  (goal < 50)")
    print(json.dumps({"list_ms": round(list_ms, 1), "lookup_us": round(per_lookup, 2), "runs": runs}))


if __name__ == "__main__":
    main()
