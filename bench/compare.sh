#!/usr/bin/env bash
# mailsift beside bogofilter (bulk mode) and Debian's spamoracle on the
# SpamAssassin split, in one run: accuracy, throughput and their ratios,
# the verdict agreement with spamoracle, and one mark's wall time against
# a database of a million words. The peers run ROUNDS times, interleaved,
# and throughput is the median of the rounds: on a shared machine one round
# of a peer can be twice as slow as the next.
#   make bench-peers     (or: bench/compare.sh; needs bin/mailsift and the corpus)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED="$ROOT/../shared"
CORPUS_DIR="${MAILSIFT_CORPUS:-$HOME/.cache/mailsift-corpus}"
OUT="${BENCH_OUT:-$ROOT/bench/out}"
mkdir -p "$OUT"
export MAILSIFT_BIN="$ROOT/bin/mailsift"
ROUNDS="${ROUNDS:-3}"
for p in bogofilter spamoracle hyperfine; do
  command -v $p >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $p >/dev/null; }
done

: > "$OUT/rounds.log"
for r in $(seq "$ROUNDS"); do
  "$SHARED/bench/peers/bogofilter.sh" sa > "$OUT/bogofilter.tsv" 2> "$OUT/bogofilter.log"
  "$ROOT/bench/peers/spamoracle.sh" sa > "$OUT/spamoracle.tsv" 2> "$OUT/spamoracle.log"
  "$ROOT/bench/peers/mailsift.sh" sa > "$OUT/mailsift.tsv" 2> "$OUT/mailsift.log"
  cat "$OUT"/{bogofilter,spamoracle,mailsift}.log >> "$OUT/rounds.log"
done

cd "$CORPUS_DIR"
echo "Accuracy (the last round; every round gives the same scores), and that round's speed:"
python3 "$SHARED/bench/evaluate.py" --corpus sa "$OUT/mailsift.tsv" "$OUT/bogofilter.tsv" "$OUT/spamoracle.tsv"

python3 - "$OUT" "$ROUNDS" <<'PY'
import re, statistics, sys
out, rounds = sys.argv[1], sys.argv[2]
rates = {}
for line in open(f"{out}/rounds.log"):
    m = re.match(r"#bench peer=(\S+) phase=(\w+) messages=(\d+) seconds=([\d.]+)", line)
    if m:
        rates.setdefault((m.group(1), m.group(2)), []).append(int(m.group(3)) / float(m.group(4)))
def timings(peer):
    return {ph: statistics.median(rates[(peer, ph)]) for ph in ("train", "score")}
ms, bf, so = timings("mailsift"), timings("bogofilter"), timings("spamoracle")
print(f"\nThroughput, median of {rounds} rounds (mails per second, wall clock):\n")
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

# One mark against a database of a million SpamOracle words (built by
# restore, so it measures --classifier spamoracle) and one against the
# SpamAssassin-trained database (the default classifier); wall clock of the
# whole process, mean of 60 runs. A database the binary cannot read (an
# older format) is built again.
cd "$ROOT"
BIG="$OUT/million.db"
if [ ! -s "$BIG" ] || ! bin/mailsift --db "$BIG" stats >/dev/null 2>&1; then
  rm -f "$BIG"
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
MSG="$CORPUS_DIR/$(head -1 "$CORPUS_DIR/sa/test-spam.txt")"
SMALL="$OUT/sa.db"
rm -f "$SMALL"
(cd "$CORPUS_DIR" && xargs -d '\n' -a sa/train-ham.txt "$ROOT/bin/mailsift" --db "$SMALL" train -q --ham &&
  xargs -d '\n' -a sa/train-spam.txt "$ROOT/bin/mailsift" --db "$SMALL" train -q --spam)
echo
echo "mark of one $(wc -c < "$MSG")-byte message, the whole process (hyperfine; the shell's start is subtracted):"
hyperfine --warmup 5 --runs 60 --style basic \
  -n "1,000,000-word database, spamoracle" "bin/mailsift --db $BIG --classifier spamoracle mark < $MSG" \
  -n "SpamAssassin-trained database" "bin/mailsift --db $SMALL mark < $MSG" 2>&1 | grep -E "^Benchmark|Time"
