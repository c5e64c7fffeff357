#!/usr/bin/env bash
# Debian's spamoracle (1.6) as a peer of ../shared/bench, with its defaults:
# the verdict is mark's rule (<= 0.2 good, >= 0.8 spam, at least 5 words).
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

python3 - "$DB/blocks" "$ntest" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="latin-1").read()
out = []
for block in text.split("-" * 50 + "\n")[1:]:
    m = re.search(r"^Score: (\S+) -- (\d+)$", block, re.M)
    f = re.search(r"^File: (.*)$", block, re.M)
    score, n = float(m.group(1)), int(m.group(2))
    v = "ham" if score <= 0.2 and n >= 5 else "spam" if score >= 0.8 and n >= 5 else "unsure"
    out.append(f"{f.group(1)}\t{score}\t{v}")
if len(out) != int(sys.argv[2]):
    sys.exit(f"spamoracle: {len(out)} scores for {sys.argv[2]} messages")
print("\n".join(out))
PY
