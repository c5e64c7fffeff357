#!/usr/bin/env bash
# mailsift analyze on the whole SpamAssassin corpus (6046 mails), one
# process with all stages on and a token database trained on the train
# split: mails per second with and without fuzzy hashes, and the peak
# resident memory. No peer runs here: SpamScope needs Apache Storm.
#   make bench-analyze     (or: bench/analyze.sh; needs bin/mailsift and the corpus)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/bin/mailsift"
CORPUS_DIR="${MAILSIFT_CORPUS:-$HOME/.cache/mailsift-corpus}"
ROUNDS="${ROUNDS:-3}"
[ -x /usr/bin/time ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$CORPUS_DIR"
n=$(cat sa/train-ham.txt sa/train-spam.txt sa/test-ham.txt sa/test-spam.txt | wc -l)
"$BIN" --db "$T/tokens.db" train --quiet --ham $(cat sa/train-ham.txt) --spam $(cat sa/train-spam.txt)
for fuzzy in true false; do
  # The seen filters are off so that every round analyses every mail in full.
  printf 'analysis:\n  fuzzy_hashes: %s\n  seen:\n    mails: {enabled: false}\n    attachments: {enabled: false}\n    ips: {enabled: false}\n' "$fuzzy" > "$T/c.yml"
  best=""
  for r in $(seq "$ROUNDS"); do
    rm -f "$T/reports.jsonl"
    /usr/bin/time -f "%e %M" -o "$T/time" "$BIN" --config "$T/c.yml" --db "$T/tokens.db" \
      analyze --out "jsonl:$T/reports.jsonl" sa/ham sa/spam
    read -r secs kb < "$T/time"
    echo "#bench analyze fuzzy=$fuzzy round=$r mails=$n seconds=$secs peak_rss_kb=$kb" >&2
    if [ -z "$best" ] || awk "BEGIN{exit !($secs < $best)}"; then best=$secs; bestkb=$kb; fi
  done
  awk -v n="$n" -v s="$best" -v kb="$bestkb" -v f="$fuzzy" \
    'BEGIN{printf "analyze, fuzzy hashes %-5s: %d mails in %.2f s = %.0f mails/s, peak RSS %d MiB (best of rounds)\n", f, n, s, n/s, kb/1024}'
done
python3 - "$T/reports.jsonl" <<'PY'
import json, sys
tot = {"ham": 0, "spam": 0}; flagged = {"ham": 0, "spam": 0}
for line in open(sys.argv[1]):
    r = json.loads(line)
    cls = "ham" if "/ham/" in r["origin"] else "spam"
    tot[cls] += 1
    flagged[cls] += bool((r.get("phishing") or {}).get("verdict"))
for c in ("ham", "spam"):
    print(f"phishing verdict on SpamAssassin {c}: {flagged[c]} of {tot[c]} ({100*flagged[c]/tot[c]:.2f}%)")
PY
