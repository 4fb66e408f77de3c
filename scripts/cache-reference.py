#!/usr/bin/env python3
"""Replays an oracleGeneral trace with libCacheSim (PyPI `libcachesim`) and prints one JSON line
per policy: {"policy", "size", "missRatio", "tool"}. Also computes, itself, two figures libCacheSim
has no policy for:
- `top-k`: the static top-k bound (the `size` objects most requested over the whole trace
  resident, the first request of each a miss), which knows the future counts;
- `lfu-exact`: the strongest online policy we know for independent requests such as the Zipf
  traces, LFU with exact, never-aged counts of every object ever requested (unbounded memory, far
  beyond any real cache's metadata): a new object replaces the least-counted resident only when
  its count is higher. Its distance to `top-k` shows how close learning from the past can come.

    scripts/cache-reference.py TRACE SIZE [POLICY...]   # default: LRU ARC LIRS WTinyLFU S3FIFO Sieve Belady
"""
import collections
import heapq
import json
import struct
import sys

DEFAULT = ["LRU", "ARC", "LIRS", "WTinyLFU", "S3FIFO", "Sieve", "Belady"]


def top_k(path: str, size: int) -> float:
    rec = struct.Struct("<IQIq")
    with open(path, "rb") as f:
        data = f.read()
    ids = [rec.unpack_from(data, o)[1] for o in range(0, len(data), rec.size)]
    counts = collections.Counter(ids)
    chosen = {obj for obj, _ in counts.most_common(size)}
    misses = sum(1 for obj in counts if obj in chosen) + sum(c for obj, c in counts.items() if obj not in chosen)
    return misses / len(ids)


def lfu_exact(path: str, size: int) -> float:
    rec = struct.Struct("<IQIq")
    with open(path, "rb") as f:
        data = f.read()
    counts = collections.Counter()
    resident = {}  # object -> its count when last pushed on the heap
    heap = []  # (count, object), stale entries skipped lazily
    misses = 0
    for o in range(0, len(data), rec.size):
        obj = rec.unpack_from(data, o)[1]
        counts[obj] += 1
        count = counts[obj]
        if obj in resident:
            resident[obj] = count
            heapq.heappush(heap, (count, obj))
            continue
        misses += 1
        if len(resident) < size:
            resident[obj] = count
            heapq.heappush(heap, (count, obj))
            continue
        while resident.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        if count > heap[0][0]:
            del resident[heapq.heappop(heap)[1]]
            resident[obj] = count
            heapq.heappush(heap, (count, obj))
    return misses / (len(data) // rec.size)


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, size, policies = sys.argv[1], int(sys.argv[2]), sys.argv[3:] or DEFAULT
    try:
        import libcachesim as lcs
    except ImportError:
        print("libcachesim is not installed (pip install libcachesim)", file=sys.stderr)
        lcs = None
    if lcs is not None:
        reader = lcs.TraceReader(path, lcs.TraceType.ORACLE_GENERAL_TRACE)
        for name in policies:
            cache = getattr(lcs, name)(size)
            miss_ratio, _ = cache.process_trace(reader)
            print(json.dumps({"policy": name, "size": size, "missRatio": round(miss_ratio, 6), "tool": "libcachesim"}))
            sys.stdout.flush()
    print(json.dumps({"policy": "top-k", "size": size, "missRatio": round(top_k(path, size), 6), "tool": "python"}))
    print(json.dumps({"policy": "lfu-exact", "size": size, "missRatio": round(lfu_exact(path, size), 6), "tool": "python"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
