"""Peer for the aggregation benchmark: Flower's FedAvg `aggregate()` (flwr/server/strategy/aggregate.py)
on numpy arrays, which holds every site's full weights in memory at once.
Usage: flower_style_aggregate.py OUT_PATH FILE:OFFSET:COUNT:CASES ... ; prints one JSON line."""
import json
import sys
import time
from functools import reduce

import numpy as np


def main() -> None:
    out_path, *sites = sys.argv[1:]
    start, cpu_start = time.perf_counter(), time.process_time()
    results = []
    for site in sites:
        path, offset, count, cases = site.rsplit(":", 3)
        results.append((np.fromfile(path, dtype="<f4", count=int(count), offset=int(offset)), int(cases)))
    total = sum(n for _, n in results)
    weighted = [w * n for w, n in results]
    aggregate = (reduce(np.add, weighted) / total).astype("<f4")
    aggregate.tofile(out_path)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    print(json.dumps({"seconds": seconds, "cpuSeconds": cpu_seconds, "peakRssMB": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """VmHWM: this process image's peak resident memory (getrusage's maxrss can inherit the parent's)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError("no VmHWM in /proc/self/status")


main()
