#!/usr/bin/env python3
"""How fast SQLite's FTS5 takes rows here, written three ways (Python's sqlite3, WAL,
synchronous = NORMAL, batches of 1 000 rows per transaction, a Zipf vocabulary of 50 000 words,
8-40 words a row, fixed seed):

  plain     a plain FTS5 table (FTS5 keeps the text)
  trigger   the memory plugin's v1 schema: `items` with an external-content FTS5 table fed by an
            AFTER INSERT trigger, one row per statement
  batch     the same tables without the trigger: a batch's rows, then their text into FTS5 in
            one INSERT ... SELECT (what the plugin's merge and scripts/bench-memory.sh's raw
            baseline do)

A write to a virtual table inside a trigger runs under the statement's savepoint, and FTS5
flushes its pending terms at each savepoint: `trigger` measures a flush per row.

  scripts/fts5-insert-rates.py [ROWS] [MODE ...]      # default 200000 plain trigger batch
"""
import bisect
import itertools
import os
import random
import sqlite3
import sys
import tempfile
import time

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
modes = sys.argv[2:] or ["plain", "trigger", "batch"]
unknown = [mode for mode in modes if mode not in ("plain", "trigger", "batch")]
if unknown:
    sys.exit(f"fts5-insert-rates: unknown mode {', '.join(unknown)} (plain, trigger, batch)")

random.seed(1)
vocabulary = [f"w{i}" for i in range(50_000)]
cumulative = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(vocabulary))))


def text():
    return " ".join(
        vocabulary[bisect.bisect_left(cumulative, random.random() * cumulative[-1])]
        for _ in range(random.randint(8, 40)))


corpus = [text() for _ in range(rows)]
ITEMS = """CREATE TABLE items (seq INTEGER PRIMARY KEY, content TEXT NOT NULL, created_at REAL NOT NULL);"""
EXTERNAL = """CREATE VIRTUAL TABLE items_fts USING fts5(content, content='items', content_rowid='seq',
tokenize='unicode61 remove_diacritics 2');"""
TRIGGER = """CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
INSERT INTO items_fts(rowid, content) VALUES (new.seq, new.content); END;"""

for mode in modes:
    with tempfile.TemporaryDirectory(dir="/var/tmp") as scratch:
        db = sqlite3.connect(os.path.join(scratch, "fts.sqlite"), isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        if mode == "plain":
            db.execute("CREATE VIRTUAL TABLE f USING fts5(content, tokenize='unicode61 remove_diacritics 2')")
        else:
            db.executescript(ITEMS + EXTERNAL + (TRIGGER if mode == "trigger" else ""))
        start = time.perf_counter()
        for first in range(0, rows, 1000):
            batch = corpus[first:first + 1000]
            db.execute("BEGIN")
            if mode == "plain":
                db.executemany("INSERT INTO f(content) VALUES (?)", [(t,) for t in batch])
            else:
                now = time.time()
                db.executemany("INSERT INTO items(content, created_at) VALUES (?, ?)", [(t, now) for t in batch])
                if mode == "batch":
                    db.execute("INSERT INTO items_fts(rowid, content) SELECT seq, content FROM items WHERE seq > ?",
                               (first,))
            db.execute("COMMIT")
        elapsed = time.perf_counter() - start
        db.close()
        print(f"{mode:16} {rows} rows {rows / elapsed:9.0f} rows/s", flush=True)
