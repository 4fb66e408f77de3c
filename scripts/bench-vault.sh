#!/usr/bin/env bash
# Benchmarks the vault (release build of `jamey vault`) side by side with Debian's restic and
# borgbackup, and sqlite3's .backup as the limit, on the same data in one run:
#   a SQLite database of about SIZE_MB (default 200) MB, then 10,000 inserts and 5,000 random deletes.
# Reports full backup MB/s, incremental bytes added against the changed pages' bytes, restore MB/s
# and verify MB/s, with ratios. The baseline in Benchmarks/Vault/baseline-200mb.md is one run of
#   OUT=Benchmarks/Vault/baseline-200mb.md scripts/bench-vault.sh
#
#   scripts/bench-vault.sh                 # SIZE_MB=200; the table on stdout
#   SIZE_MB=50 scripts/bench-vault.sh      # quicker
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$JAMEY_ROOT"
size_mb="${SIZE_MB:-200}"
install_packages restic borgbackup sqlite3 python3 >&2
echo "== build (release)" >&2
swift build -c release --product jamey >&2
jamey="$(swift_bin_path release)/jamey"
work="$(mktemp -d /tmp/jamey-bench-vault.XXXXXX)"
trap 'rm -rf "$work"' EXIT
export RESTIC_PASSWORD=bench BORG_PASSPHRASE=bench BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes BORG_BASE_DIR="$work/borg-home" XDG_CACHE_HOME="$work/cache"

now() { date +%s.%N; }
# elapsed START: seconds since START.
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$(now)"; }
mbps() { python3 -c "import sys; print(f'{float(sys.argv[1]) / 1e6 / float(sys.argv[2]):.1f}')" "$1" "$2"; }
dirsize() { du -sb "$1" | cut -f1; }

echo "== data: a ${size_mb} MB SQLite database (WAL, checkpointed), then 10,000 inserts + 5,000 random deletes" >&2
# Written with Python's sqlite3 in the memory plugin's shape (layer, body of 40-90 words, time),
# so every tool reads the same file; the vault backs up the file itself (--source), as the
# plugin backs up what a plugin's snapshot hook writes.
mkdir -p "$work/data"
python3 - "$work/data/store.sqlite" "$size_mb" "$work/v1.sqlite" <<'PY'
import os, random, shutil, sqlite3, sys
path, size_mb, v1 = sys.argv[1], int(sys.argv[2]), sys.argv[3]
random.seed(7)
db = sqlite3.connect(path)
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, layer TEXT, body TEXT, created REAL)")
words = [f"w{n}" for n in range(5000)]
def body():
    return " ".join(random.choice(words) for _ in range(random.randint(40, 90)))
rows = 0
while True:
    db.executemany("INSERT INTO item (layer, body, created) VALUES (?, ?, ?)",
                   [("short_term", body(), random.random() * 1e9) for _ in range(5000)])
    db.commit()
    rows += 5000
    if os.path.getsize(path) + os.path.getsize(path + "-wal") >= size_mb * 1_000_000:
        break
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
db.close()
shutil.copyfile(path, v1)
print(rows, file=sys.stderr)
PY
change() {
  python3 - "$work/data/store.sqlite" <<'PY'
import random, sqlite3, sys
random.seed(11)
db = sqlite3.connect(sys.argv[1])
words = [f"w{n}" for n in range(5000)]
top = db.execute("SELECT max(id) FROM item").fetchone()[0]
db.executemany("INSERT INTO item (layer, body, created) VALUES (?, ?, ?)",
               [("short_term", " ".join(random.choice(words) for _ in range(60)), 1e9) for _ in range(10000)])
ids = random.sample(range(1, top + 1), 5000)
db.executemany("DELETE FROM item WHERE id = ?", [(i,) for i in ids])
db.commit()
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
db.close()
PY
}
bytes=$(stat -c %s "$work/data/store.sqlite")

echo "== sqlite3 .backup" >&2
t=$(now); sqlite3 "$work/data/store.sqlite" ".backup '$work/copy.sqlite'"; s_backup=$(elapsed "$t")

echo "== jamey vault" >&2
"$jamey" vault keygen -o "$work/identity.txt" > "$work/keygen.txt"
recipient=$(awk '{print $NF}' "$work/keygen.txt")
"$jamey" vault init --repository "$work/vault" --recipient "$recipient" --node-key "$work/node.key" --node bench >/dev/null
v() { "$jamey" vault "$@" --repository "$work/vault"; }
t=$(now); v backup --node-key "$work/node.key" --source "db=$work/data" --json > "$work/full.json"; j_full=$(elapsed "$t")
j_size1=$(dirsize "$work/vault")

echo "== restic" >&2
restic init --repo "$work/restic" -q
t=$(now); restic -r "$work/restic" backup -q "$work/data" >/dev/null; r_full=$(elapsed "$t")
r_size1=$(dirsize "$work/restic")

echo "== borg" >&2
borg init -e repokey "$work/borg" 2>/dev/null
t=$(now); (cd "$work" && borg create "$work/borg::one" data) 2>/dev/null; b_full=$(elapsed "$t")
b_size1=$(dirsize "$work/borg")

echo "== change: 10,000 inserts + 5,000 random deletes" >&2
change
bytes2=$(stat -c %s "$work/data/store.sqlite")
read changed_pages changed_bytes page_size < <(python3 - "$work/v1.sqlite" "$work/data/store.sqlite" <<'PY'
import sys
a, b = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
page = int.from_bytes(b[16:18], "big") or 65536
n = 0
for off in range(0, len(b), page):
    if a[off:off + page] != b[off:off + page]:
        n += 1
print(n, n * page, page)
PY
)
v backup --node-key "$work/node.key" --source "db=$work/data" --json > "$work/incr.json"
j_added=$(( $(dirsize "$work/vault") - j_size1 ))
restic -r "$work/restic" backup -q "$work/data" >/dev/null
r_added=$(( $(dirsize "$work/restic") - r_size1 ))
(cd "$work" && borg create "$work/borg::two" data) 2>/dev/null
b_added=$(( $(dirsize "$work/borg") - b_size1 ))

echo "== restore" >&2
t=$(now); v restore --identity "$work/identity.txt" --target "$work/out-jamey" >/dev/null; j_restore=$(elapsed "$t")
cmp "$work/out-jamey/db/store.sqlite" "$work/data/store.sqlite"
t=$(now); restic -r "$work/restic" restore latest -q --target "$work/out-restic" >/dev/null; r_restore=$(elapsed "$t")
mkdir -p "$work/out-borg"
t=$(now); (cd "$work/out-borg" && borg extract "$work/borg::two") 2>/dev/null; b_restore=$(elapsed "$t")

echo "== verify (everything read and checked)" >&2
t=$(now); v verify --identity "$work/identity.txt" >/dev/null; j_verify=$(elapsed "$t")
t=$(now); restic -r "$work/restic" check --read-data -q >/dev/null 2>&1; r_verify=$(elapsed "$t")
t=$(now); borg check --verify-data "$work/borg" 2>/dev/null; b_verify=$(elapsed "$t")

ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }
out="${OUT:-/dev/null}"
[ "$out" = /dev/null ] || mkdir -p "$(dirname "$out")"
{
  echo "# Vault benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, SIZE_MB=$size_mb)"
  echo
  echo "Database: $bytes bytes (page size $page_size); after the change $bytes2 bytes, $changed_pages pages changed = $changed_bytes bytes."
  echo "Throughput is the database's size over wall time; restore and verify read the second snapshot."
  echo
  echo "| tool | full backup MB/s | incremental bytes added | × changed pages | restore MB/s | verify MB/s |"
  echo "|---|---|---|---|---|---|"
  echo "| jamey vault | $(mbps "$bytes" "$j_full") | $j_added | $(ratio "$j_added" "$changed_bytes") | $(mbps "$bytes2" "$j_restore") | $(mbps "$bytes2" "$j_verify") |"
  echo "| restic $(restic version | awk '{print $2}') | $(mbps "$bytes" "$r_full") | $r_added | $(ratio "$r_added" "$changed_bytes") | $(mbps "$bytes2" "$r_restore") | $(mbps "$bytes2" "$r_verify") |"
  echo "| borg $(borg --version | awk '{print $2}') | $(mbps "$bytes" "$b_full") | $b_added | $(ratio "$b_added" "$changed_bytes") | $(mbps "$bytes2" "$b_restore") | $(mbps "$bytes2" "$b_verify") |"
  echo "| sqlite3 .backup | $(mbps "$bytes" "$s_backup") | – | – | – | – |"
  echo
  echo "Ratios: full backup vault/restic $(ratio "$r_full" "$j_full"), vault/.backup $(ratio "$s_backup" "$j_full"); restore vault/restic $(ratio "$r_restore" "$j_restore"), vault/borg $(ratio "$b_restore" "$j_restore"); verify vault/restic $(ratio "$r_verify" "$j_verify"), vault/borg $(ratio "$b_verify" "$j_verify") (above 1: the vault is faster)."
  echo "Incremental: vault stored $(ratio "$j_added" "$changed_bytes")× the changed pages' bytes (goal ≤ 1.25), restic $(ratio "$r_added" "$changed_bytes")×, borg $(ratio "$b_added" "$changed_bytes")×; the vault's plaintext bytes added: $(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['bytesAdded'])" "$work/incr.json")."
  echo "Vault full backup phases (s; hash and waits are wall time, seal and write summed over pack jobs): $(python3 -c "import json,sys; p=json.load(open(sys.argv[1])).get('phases') or {}; print(', '.join(f'{k} {v:.3f}' for k, v in sorted(p.items())))" "$work/full.json")."
  echo "Seconds: vault full $j_full restore $j_restore verify $j_verify; restic $r_full / $r_restore / $r_verify; borg $b_full / $b_restore / $b_verify; .backup $s_backup."
} | tee "$out"
