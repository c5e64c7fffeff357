#!/usr/bin/env bash
# mailsift beside bogofilter (bulk mode) and Debian's spamoracle on the
# SpamAssassin split, in one run: accuracy, throughput and their ratios,
# the verdict agreement with spamoracle, and one mark's wall time against
# a database of a million words.
#   make bench-peers     (or: bench/compare.sh; needs bin/mailsift and the corpus)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED="$ROOT/../shared"
CORPUS_DIR="${MAILSIFT_CORPUS:-$HOME/.cache/mailsift-corpus}"
OUT="${BENCH_OUT:-$ROOT/bench/out}"
mkdir -p "$OUT"
export MAILSIFT_BIN="$ROOT/bin/mailsift"
for p in bogofilter spamoracle; do
  command -v $p >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $p >/dev/null; }
done

"$SHARED/bench/peers/bogofilter.sh" sa > "$OUT/bogofilter.tsv" 2> "$OUT/bogofilter.log"
"$ROOT/bench/peers/spamoracle.sh" sa > "$OUT/spamoracle.tsv" 2> "$OUT/spamoracle.log"
"$ROOT/bench/peers/mailsift.sh" sa > "$OUT/mailsift.tsv" 2> "$OUT/mailsift.log"

cd "$CORPUS_DIR"
python3 "$SHARED/bench/evaluate.py" --corpus sa "$OUT/mailsift.tsv" "$OUT/bogofilter.tsv" "$OUT/spamoracle.tsv"

python3 - "$OUT" <<'PY'
import re, sys
out = sys.argv[1]
def timings(peer):
    t = {}
    for line in open(f"{out}/{peer}.log"):
        m = re.match(r"#bench peer=\S+ phase=(\w+) messages=(\d+) seconds=([\d.]+)", line)
        if m:
            t[m.group(1)] = int(m.group(2)) / float(m.group(3))
    return t
ms, bf, so = timings("mailsift"), timings("bogofilter"), timings("spamoracle")
print()
print("| phase | mailsift msg/s | bogofilter -B msg/s | spamoracle msg/s | mailsift / bogofilter | mailsift / spamoracle |")
print("|---|---|---|---|---|---|")
for ph in ("train", "score"):
    print(f"| {ph} | {ms[ph]:,.0f} | {bf[ph]:,.0f} | {so[ph]:,.0f} | {ms[ph]/bf[ph]:.2f}x | {ms[ph]/so[ph]:.2f}x |")

def verdicts(peer):
    return {l.split("\t")[0]: l.rstrip("\n").split("\t")[2] for l in open(f"{out}/{peer}.tsv")}
a, b = verdicts("mailsift"), verdicts("spamoracle")
same = sum(a[k] == b[k] for k in a)
print(f"\nverdict agreement with spamoracle: {same}/{len(a)} = {100*same/len(a):.2f}%")
pairs = {}
for k in a:
    if a[k] != b[k]:
        pairs[(b[k], a[k])] = pairs.get((b[k], a[k]), 0) + 1
for (x, y), n in sorted(pairs.items(), key=lambda kv: -kv[1]):
    print(f"  spamoracle {x:6} -> mailsift {y:6}: {n}")
PY

# One mark against a database of a million words (built by restore), wall
# clock of the whole process, median of 21 runs.
cd "$ROOT"
BIG="$OUT/million.db"
if [ ! -s "$BIG" ]; then
  python3 - > "$OUT/million.txt" <<'PY'
import random
random.seed(1)
print("SPAMORACLE/1 50000 50000")
letters = "abcdefghijklmnopqrstuvwxyz"
seen = set()
while len(seen) < 1_000_000:
    w = "".join(random.choice(letters) for _ in range(random.randint(4, 11)))
    if w not in seen:
        seen.add(w)
        print(w, random.randint(0, 40), random.randint(0, 40))
PY
  bin/mailsift --db "$BIG" restore < "$OUT/million.txt"
fi
MSG="$(head -1 "$CORPUS_DIR/sa/test-spam.txt")"
python3 - "$BIG" "$CORPUS_DIR/$MSG" <<'PY'
import subprocess, sys, time
db, msg = sys.argv[1], sys.argv[2]
data = open(msg, "rb").read()
times = []
for _ in range(21):
    t = time.perf_counter()
    subprocess.run(["bin/mailsift", "--db", db, "mark"], input=data, stdout=subprocess.DEVNULL, check=True)
    times.append(time.perf_counter() - t)
times.sort()
print(f"\nmark, one {len(data)}-byte message, 1,000,000-word database: median {times[10]*1000:.1f} ms, max {times[-1]*1000:.1f} ms (whole process)")
PY
