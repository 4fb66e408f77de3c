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
  rows      no FTS5 at all: only the rows of the plugin's `items` table with all its columns and
            indexes (v1's four, the unique time-ordered id, v9's by source): what one SQLite
            database can take when a store writes nothing but the item
  full      `rows`, then their text into FTS5 as `batch` does

A write to a virtual table inside a trigger runs under the statement's savepoint, and FTS5
flushes its pending terms at each savepoint: `trigger` measures a flush per row.

  scripts/fts5-insert-rates.py [ROWS] [MODE ...]      # default 200000 plain trigger batch rows full
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
modes = sys.argv[2:] or ["plain", "trigger", "batch", "rows", "full"]
unknown = [mode for mode in modes if mode not in ("plain", "trigger", "batch", "rows", "full")]
if unknown:
    sys.exit(f"fts5-insert-rates: unknown mode {', '.join(unknown)} (plain, trigger, batch, rows, full)")

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
# The plugin's items table (Plugins/Memory/MemoryStore.swift, migrations v1 and v9).
FULL_ITEMS = """CREATE TABLE items (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, layer TEXT NOT NULL,
content TEXT NOT NULL, tags TEXT NOT NULL DEFAULT '[]', source TEXT NOT NULL DEFAULT '',
importance REAL NOT NULL DEFAULT 0.5, created_at REAL NOT NULL, last_accessed_at REAL NOT NULL,
access_count INTEGER NOT NULL DEFAULT 0, expires_at REAL, pinned INTEGER NOT NULL DEFAULT 0);
CREATE INDEX items_by_layer_time ON items(layer, created_at);
CREATE INDEX items_by_time ON items(created_at);
CREATE INDEX items_eviction ON items(layer, pinned, created_at);
CREATE INDEX items_expiry ON items(expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX items_by_source_time ON items(source, created_at);"""


def item_id(n):
    """A time-ordered id shaped as the plugin's (a new id lands at the end of the unique index)."""
    h = f"{int(time.time() * 1000):012x}7{n:019x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


TRIGGER = """CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
INSERT INTO items_fts(rowid, content) VALUES (new.seq, new.content); END;"""

for mode in modes:
    with tempfile.TemporaryDirectory(dir="/var/tmp") as scratch:
        db = sqlite3.connect(os.path.join(scratch, "fts.sqlite"), isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        if mode == "plain":
            db.execute("CREATE VIRTUAL TABLE f USING fts5(content, tokenize='unicode61 remove_diacritics 2')")
        elif mode in ("rows", "full"):
            db.executescript(FULL_ITEMS + (EXTERNAL if mode == "full" else ""))
        else:
            db.executescript(ITEMS + EXTERNAL + (TRIGGER if mode == "trigger" else ""))
        start = time.perf_counter()
        for first in range(0, rows, 1000):
            batch = corpus[first:first + 1000]
            db.execute("BEGIN")
            if mode == "plain":
                db.executemany("INSERT INTO f(content) VALUES (?)", [(t,) for t in batch])
            elif mode in ("rows", "full"):
                now = time.time()
                db.executemany(
                    "INSERT INTO items(id, layer, content, created_at, last_accessed_at) VALUES (?, 'long_term', ?, ?, ?)",
                    [(item_id(first + i), t, now, now) for i, t in enumerate(batch)])
                if mode == "full":
                    db.execute("INSERT INTO items_fts(rowid, content) SELECT seq, content FROM items WHERE seq > ?",
                               (first,))
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
