#!/usr/bin/env python3
"""Writes a Zipf-distributed cache trace in libCacheSim's oracleGeneral format.

Each record is 24 bytes, little-endian: u32 timestamp, u64 object id, u32 size, i64 index of the
next request for the same object (-1 if none). Object i (rank 1 = most popular) is requested with
probability proportional to 1 / i^alpha; ranks map to ids through a seeded permutation, sizes are 1,
so a cache size counts objects. Pure Python (no numpy), deterministic for a given seed.

    scripts/gen-zipf-trace.py --alpha 1.0 --objects 100000 --requests 1000000 --seed 42 OUT.oracleGeneral
"""
import argparse
import bisect
import random
import struct
import sys


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", help="output file (oracleGeneral)")
    p.add_argument("--alpha", type=float, default=1.0, help="Zipf exponent (default 1.0)")
    p.add_argument("--objects", type=int, default=100_000, help="distinct objects (default 100000)")
    p.add_argument("--requests", type=int, default=1_000_000, help="requests (default 1000000)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--csv", action="store_true", help="write timestamp,id,size lines instead")
    a = p.parse_args()
    if a.alpha <= 0 or a.objects < 1 or a.requests < 1:
        print("alpha must be > 0, objects and requests >= 1", file=sys.stderr)
        return 2
    rng = random.Random(a.seed)
    cdf, total = [], 0.0
    for rank in range(1, a.objects + 1):
        total += 1.0 / rank**a.alpha
        cdf.append(total)
    ids = list(range(1, a.objects + 1))
    rng.shuffle(ids)
    ranks = [min(bisect.bisect_left(cdf, rng.random() * total), a.objects - 1) for _ in range(a.requests)]
    trace = [ids[r] for r in ranks]
    with open(a.out, "wb") as f:
        if a.csv:
            f.write(b"timestamp,id,size\n")
            f.write("".join(f"{i},{obj},1\n" for i, obj in enumerate(trace)).encode())
            return 0
        nxt, seen = [-1] * len(trace), {}
        for i in range(len(trace) - 1, -1, -1):
            nxt[i] = seen.get(trace[i], -1)
            seen[trace[i]] = i
        rec = struct.Struct("<IQIq")
        f.write(b"".join(rec.pack(i, obj, 1, nxt[i]) for i, obj in enumerate(trace)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
