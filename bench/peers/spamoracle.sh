#!/usr/bin/env bash
# Debian's spamoracle (1.6) as a peer of ../shared/bench, with its defaults.
# The timed pass is `test` over all files; the verdicts come from `mark`, one
# message at a time in an untimed pass (test prints the score rounded to two
# decimals, too coarse to apply the 0.2/0.8 thresholds to).
#   bench/peers/spamoracle.sh [sa]
set -euo pipefail
source "$(dirname "$0")/../../../shared/bench/peers/lib.sh"
DB="$(mktemp -d -t bench-spamoracle.XXXXXX)"
trap 'rm -rf "$DB"' EXIT
export HOME="$DB"   # no ~/.spamoracle.conf
ntrain=$(n_lines "$CORPUS/train-ham.txt" "$CORPUS/train-spam.txt")
ntest=$(n_lines "$CORPUS/test-ham.txt" "$CORPUS/test-spam.txt")

c0=$(cpu); t0=$(now)
xargs -d '\n' -a "$CORPUS/train-ham.txt" spamoracle -f "$DB/so.db" add -good
xargs -d '\n' -a "$CORPUS/train-spam.txt" spamoracle -f "$DB/so.db" add -spam
t1=$(now); c1=$(cpu); report spamoracle train "$ntrain" "$t0" "$t1" "$c0" "$c1"

c0=$(cpu); t0=$(now)
cat "$CORPUS/test-ham.txt" "$CORPUS/test-spam.txt" |
  xargs -d '\n' spamoracle -f "$DB/so.db" test > "$DB/blocks"
t1=$(now); c1=$(cpu); report spamoracle score "$ntest" "$t0" "$t1" "$c0" "$c1"

cat "$CORPUS/test-ham.txt" "$CORPUS/test-spam.txt" | while read -r f; do
  printf '%s\t%s\n' "$f" "$(spamoracle -f "$DB/so.db" mark < "$f" | sed -n 's/^X-Spam: \([a-z]*\);.*/\1/p' | tail -1)"
done > "$DB/verdicts"

python3 - "$DB/blocks" "$DB/verdicts" "$ntest" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="latin-1").read()
verdict = dict(l.rstrip("\n").split("\t") for l in open(sys.argv[2], encoding="latin-1"))
names = {"yes": "spam", "no": "ham", "unknown": "unsure"}
out = []
for block in text.split("-" * 50 + "\n")[1:]:
    m = re.search(r"^Score: (\S+) -- (\d+)$", block, re.M)
    f = re.search(r"^File: (.*)$", block, re.M).group(1)
    out.append(f"{f}\t{float(m.group(1))}\t{names[verdict[f]]}")
if len(out) != int(sys.argv[3]):
    sys.exit(f"spamoracle: {len(out)} scores for {sys.argv[3]} messages")
print("\n".join(out))
PY
