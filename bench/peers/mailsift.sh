#!/usr/bin/env bash
# mailsift as a peer of ../shared/bench: trains a fresh database on the split's
# train side, scores the test side, prints "<path>\t<score>\t<verdict>" lines
# and "#bench" timing lines on stderr.
#   bench/peers/mailsift.sh [sa]        (MAILSIFT_BIN: the binary, default bin/mailsift)
set -euo pipefail
BIN="$(realpath "${MAILSIFT_BIN:-$(dirname "$0")/../../bin/mailsift}")"
source "$(dirname "$0")/../../../shared/bench/peers/lib.sh"
DB="$(mktemp -d -t bench-mailsift.XXXXXX)"
trap 'rm -rf "$DB"' EXIT
ntrain=$(n_lines "$CORPUS/train-ham.txt" "$CORPUS/train-spam.txt")
ntest=$(n_lines "$CORPUS/test-ham.txt" "$CORPUS/test-spam.txt")

c0=$(cpu); t0=$(now)
xargs -d '\n' -a "$CORPUS/train-ham.txt" "$BIN" --db "$DB/tokens.db" train -q --ham
xargs -d '\n' -a "$CORPUS/train-spam.txt" "$BIN" --db "$DB/tokens.db" train -q --spam
t1=$(now); c1=$(cpu); report mailsift train "$ntrain" "$t0" "$t1" "$c0" "$c1"

c0=$(cpu); t0=$(now)
cat "$CORPUS/test-ham.txt" "$CORPUS/test-spam.txt" |
  xargs -d '\n' "$BIN" --db "$DB/tokens.db" test --json > "$DB/scores.jsonl"
t1=$(now); c1=$(cpu); report mailsift score "$ntest" "$t0" "$t1" "$c0" "$c1"

python3 - "$DB/scores.jsonl" "$ntest" <<'PY'
import json, re, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
if len(rows) != int(sys.argv[2]):
    sys.exit(f"mailsift: {len(rows)} scores for {sys.argv[2]} messages")
verdict = {"yes": "spam", "no": "ham", "unknown": "unsure"}
for r in rows:
    print(f"{re.sub(r':1$', '', r['file'])}\t{r['score']!r}\t{verdict[r['verdict']]}")
PY
