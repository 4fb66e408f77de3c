#!/usr/bin/env bash
# Benchmarks the vault (release build of `jamey vault`) side by side with Debian's restic and
# borgbackup, and sqlite3's .backup as the limit, on the same data in one run: a SQLite database
# of about SIZE_MB (default 200) MB written by a running plugin (the cache plugin's L3, filled
# through `jamey serve` over HTTP), then changed by 10,000 puts and 5,000 deletes.
# Reports full backup MB/s, incremental bytes added against the changed pages' bytes, restore MB/s
# and verify MB/s, with ratios; each timed step is the median of ROUNDS (default 3) rounds. The
# baseline in Benchmarks/Vault/baseline-200mb.md is one run of
#   OUT=Benchmarks/Vault/baseline-200mb.md scripts/bench-vault.sh
#
#   scripts/bench-vault.sh                 # SIZE_MB=200 ROUNDS=3; the table on stdout
#   SIZE_MB=50 ROUNDS=1 scripts/bench-vault.sh      # quicker
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$JAMEY_ROOT"
size_mb="${SIZE_MB:-200}"
install_packages restic borgbackup sqlite3 python3 >&2
echo "== build (release)" >&2
swift build -c release --product jamey >&2
jamey_bin="$(swift_bin_path release)/jamey"
work="$(mktemp -d /tmp/jamey-bench-vault.XXXXXX)"
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
export RESTIC_PASSWORD=bench BORG_PASSPHRASE=bench BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes BORG_BASE_DIR="$work/borg-home" XDG_CACHE_HOME="$work/cache"

now() { date +%s.%N; }
# elapsed START: seconds since START.
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$(now)"; }
mbps() { python3 -c "import sys; print(f'{float(sys.argv[1]) / 1e6 / float(sys.argv[2]):.1f}')" "$1" "$2"; }
dirsize() { du -sb "$1" | cut -f1; }

echo "== data: the cache plugin writes a ${size_mb} MB L3 database (jamey serve, HTTP PUTs), then 10,000 puts of 60 words + 5,000 deletes" >&2
# A real plugin writes the database: `jamey serve` with the api and cache plugins, and keep-alive
# HTTP clients putting text values of 300-600 random words through `PUT /v1/cache/bench/{key}`; the cache
# keeps them in its L3 (SQLite, WAL) at <data_dir>/cache/cache.sqlite. The server is stopped
# before each backup, so every tool reads the same quiescent file.
swift build -c release --product API >&2
swift build -c release --product Cache >&2
bin="$(swift_bin_path release)"
source "$JAMEY_ROOT/scripts/http-bench.sh"
admin="bench-admin-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
cat > "$work/jamey.yaml" <<YAML
node:
  name: bench
data_dir: data
log:
  level: notice
plugins:
$(api_plugin_yaml)
  cache:
    required: true
    path: $bin/libCache.so
    config:
      namespaces:
        - {name: bench, max_bytes: 16777216, l3_max_bytes: 4294967296, max_value_bytes: 65536, warm_entries: 0}
YAML
# write_cache OP: PUTs (OP=fill: until L3 holds SIZE_MB; OP=change: 10,000 new keys, then 5,000
# random deletes of existing ones) on four keep-alive connections; prints what it did.
write_cache() {
  python3 - "$port" "$admin" "$1" "$size_mb" "$work/data/cache/cache.sqlite" <<'PY'
import http.client, json, os, random, sys, threading
port, key, op, size_mb, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
words = [f"w{n}" for n in range(5000)]
headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
def run(requests):
    def worker(part):
        rng = random.Random(part[0][1] if part else 0)
        connection = http.client.HTTPConnection("127.0.0.1", port)
        for method, name in part:
            body = None
            if method == "PUT":
                # Fill: 300-600 words (about 2-4 KB); change: 60 words, like a new memory item.
                count = rng.randint(300, 600) if op == "fill" else 60
                body = json.dumps({"value": " ".join(rng.choices(words, k=count))})
            connection.request(method, f"/v1/cache/bench/{name}", body, headers)
            answer = connection.getresponse()
            answer.read()
            if answer.status not in (200, 201, 204):
                raise SystemExit(f"{method} {name}: HTTP {answer.status}")
    threads = [threading.Thread(target=worker, args=(requests[i::4],)) for i in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
def size():
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
if op == "fill":
    n = 0
    while size() < size_mb * 1_000_000:
        run([("PUT", f"k{i}") for i in range(n, n + 5000)])
        n += 5000
    print(f"{n} values put", file=sys.stderr)
else:
    random.seed(11)
    top = int(open(path + ".count").read())
    run([("PUT", f"k{i}") for i in range(top, top + 10000)])
    run([("DELETE", f"k{i}") for i in random.sample(range(top), 5000)])
    print("10000 puts, 5000 deletes", file=sys.stderr)
PY
}
stop_serve() { kill "$jamey"; wait "$jamey" 2>/dev/null || true; }
serve_and_wait "$admin"
write_cache fill
stop_serve
store="$work/data/cache/cache.sqlite"
# Every key the fill put (the change picks deletes among them).
sqlite3 "$store" "PRAGMA wal_checkpoint(TRUNCATE); SELECT count(*) FROM entries" | tail -1 > "$store.count"
mv "$store.count" "$work/count"
cp "$store" "$work/v1.sqlite"
change() {
  serve_and_wait "$admin"
  cp "$work/count" "$store.count"
  write_cache change
  rm -f "$store.count"
  stop_serve
  sqlite3 "$store" "PRAGMA wal_checkpoint(TRUNCATE);" > /dev/null
}
bytes=$(stat -c %s "$store")
data="$work/data/cache"

# Each timed step runs ROUNDS times (default 3), the tools alternating within a round, and the
# tables report medians: on a shared machine one run of a one-second step is mostly noise.
rounds="${ROUNDS:-3}"
median() { python3 -c "import statistics, sys; print(f'{statistics.median(map(float, sys.argv[1:])):.3f}')" "$@"; }
"$jamey_bin" vault keygen -o "$work/identity.txt" > "$work/keygen.txt"
recipient=$(awk '{print $NF}' "$work/keygen.txt")
v() { "$jamey_bin" vault "$@" --repository "$work/vault"; }
s_times=(); j_times=(); r_times=(); b_times=()
for round in $(seq 1 "$rounds"); do
  echo "== full backup, round $round of $rounds: sqlite3 .backup, jamey vault, restic, borg" >&2
  rm -rf "$work/copy.sqlite" "$work/vault" "$work/node.key" "$work/node.key.head" "$work/restic" "$work/borg"
  t=$(now); sqlite3 "$store" ".backup '$work/copy.sqlite'"; s_times+=("$(elapsed "$t")")
  "$jamey_bin" vault init --repository "$work/vault" --recipient "$recipient" --node-key "$work/node.key" --node bench >/dev/null
  t=$(now); v backup --node-key "$work/node.key" --source "db=$data" --json > "$work/full.json"; j_times+=("$(elapsed "$t")")
  restic init --repo "$work/restic" -q
  t=$(now); restic -r "$work/restic" backup -q "$data" >/dev/null; r_times+=("$(elapsed "$t")")
  borg init -e repokey "$work/borg" 2>/dev/null
  t=$(now); (cd "$work/data" && borg create "$work/borg::one" cache) 2>/dev/null; b_times+=("$(elapsed "$t")")
done
s_backup=$(median "${s_times[@]}"); j_full=$(median "${j_times[@]}"); r_full=$(median "${r_times[@]}"); b_full=$(median "${b_times[@]}")
j_size1=$(dirsize "$work/vault"); r_size1=$(dirsize "$work/restic"); b_size1=$(dirsize "$work/borg")

echo "== change: 10,000 puts + 5,000 deletes through the cache plugin" >&2
change
bytes2=$(stat -c %s "$store")
read changed_pages changed_bytes page_size < <(python3 - "$work/v1.sqlite" "$store" <<'PY'
import sys
# Distinct pages of the new file whose content is nowhere in the old one: what any page-level
# deduplication must store (at most the pages that differ at the same offset).
a, b = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
page = int.from_bytes(b[16:18], "big") or 65536
old = {a[off:off + page] for off in range(0, len(a), page)}
n = len({b[off:off + page] for off in range(0, len(b), page)} - old)
print(n, n * page, page)
PY
)
v backup --node-key "$work/node.key" --source "db=$data" --json > "$work/incr.json"
j_added=$(( $(dirsize "$work/vault") - j_size1 ))
restic -r "$work/restic" backup -q "$data" >/dev/null
r_added=$(( $(dirsize "$work/restic") - r_size1 ))
(cd "$work/data" && borg create "$work/borg::two" cache) 2>/dev/null
b_added=$(( $(dirsize "$work/borg") - b_size1 ))

j_times=(); r_times=(); b_times=()
for round in $(seq 1 "$rounds"); do
  echo "== restore, round $round of $rounds" >&2
  rm -rf "$work/out-jamey" "$work/out-restic" "$work/out-borg"
  t=$(now); v restore --identity "$work/identity.txt" --target "$work/out-jamey" >/dev/null; j_times+=("$(elapsed "$t")")
  cmp "$work/out-jamey/db/cache.sqlite" "$store"
  t=$(now); restic -r "$work/restic" restore latest -q --target "$work/out-restic" >/dev/null; r_times+=("$(elapsed "$t")")
  mkdir -p "$work/out-borg"
  t=$(now); (cd "$work/out-borg" && borg extract "$work/borg::two") 2>/dev/null; b_times+=("$(elapsed "$t")")
done
j_restore=$(median "${j_times[@]}"); r_restore=$(median "${r_times[@]}"); b_restore=$(median "${b_times[@]}")

j_times=(); r_times=(); b_times=()
for round in $(seq 1 "$rounds"); do
  echo "== verify (everything read and checked), round $round of $rounds" >&2
  t=$(now); v verify --identity "$work/identity.txt" >/dev/null; j_times+=("$(elapsed "$t")")
  t=$(now); restic -r "$work/restic" check --read-data -q >/dev/null 2>&1; r_times+=("$(elapsed "$t")")
  t=$(now); borg check --verify-data "$work/borg" 2>/dev/null; b_times+=("$(elapsed "$t")")
done
j_verify=$(median "${j_times[@]}"); r_verify=$(median "${r_times[@]}"); b_verify=$(median "${b_times[@]}")

ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }
out="${OUT:-/dev/null}"
[ "$out" = /dev/null ] || mkdir -p "$(dirname "$out")"
{
  echo "# Vault benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, SIZE_MB=$size_mb, ROUNDS=$rounds, load average $(cut -d' ' -f1-3 /proc/loadavg))"
  echo
  echo "Database: the cache plugin's L3 (cache.sqlite), written through \`jamey serve\`: $bytes bytes (page size $page_size); after the change $bytes2 bytes, $changed_pages pages with content not in the first version = $changed_bytes bytes."
  echo "Throughput is the database's size over the median wall time of $rounds rounds; restore and verify read the second snapshot."
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
  echo "Median seconds: vault full $j_full restore $j_restore verify $j_verify; restic $r_full / $r_restore / $r_verify; borg $b_full / $b_restore / $b_verify; .backup $s_backup."
} | tee "$out"
