#!/usr/bin/env python3
"""Miss ratio of a static cache holding the `size` objects that are truly most probable in a trace
made by scripts/gen-zipf-trace.py (their ranks rebuilt from the generator's seed, which shuffles the
ids before it draws any request), the first request of each a miss: the optimal policy when the
probabilities are known in advance, next to the static top-k bound, which knows the trace's counts.

    scripts/zipf-true-topk.py TRACE SIZE [--objects 100000] [--seed 42]
"""
import argparse
import random
import struct
import sys


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("trace")
    p.add_argument("size", type=int)
    p.add_argument("--objects", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()
    ids = list(range(1, a.objects + 1))
    random.Random(a.seed).shuffle(ids)  # the generator's first use of its generator
    top = set(ids[: a.size])
    rec = struct.Struct("<IQIq")
    with open(a.trace, "rb") as f:
        data = f.read()
    seen, misses, total = set(), 0, len(data) // rec.size
    for o in range(0, len(data), rec.size):
        obj = rec.unpack_from(data, o)[1]
        if obj not in top or obj not in seen:
            misses += 1
            seen.add(obj)
    print(f"{misses / total:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
