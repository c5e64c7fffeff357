#!/usr/bin/env bash
# Scaling out on NATS JetStream: the whole SpamAssassin corpus (6046 mails)
# submitted to a NATS server, then analysed by 1, 2 and 4 mailsift worker
# processes (each GOMAXPROCS=1, two worker goroutines so one waits on the
# network while the other analyses), beside the same mails through
# mailsift analyze in one process with GOMAXPROCS=1: the NATS path's cost.
#
# The server is Debian's nats-server (2.9), with file storage in a temp
# dir, on a free port of 127.0.0.1; every run starts from an empty store.
# Submitting is timed on its own; a worker run is timed from the workers'
# start until the last exits (worker --until-empty). The token database is
# trained on the train split; the seen filters are on (shared through the
# server's key-value bucket for the workers, in memory for analyze), and
# the reports go to a JSON lines file. Each figure is the best of ROUNDS.
#
# The machine has nproc CPUs for the server, the workers and this script
# together: more workers than CPUs cannot scale, and the table says so.
#   make bench-scale     (or: bench/scale.sh; needs bin/mailsift, the corpus, nats-server)
# Knobs: ROUNDS (3), WORKERS ("1 2 4").
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/bin/mailsift"
CORPUS_DIR="${MAILSIFT_CORPUS:-$HOME/.cache/mailsift-corpus}"
ROUNDS="${ROUNDS:-3}"
WORKERS="${WORKERS:-1 2 4}"
command -v nats-server >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null; }
T=$(mktemp -d)
NATS_PID=""
stop_nats() { if [ -n "$NATS_PID" ]; then kill "$NATS_PID" 2>/dev/null || true; wait "$NATS_PID" 2>/dev/null || true; NATS_PID=""; fi; }
trap 'stop_nats; rm -rf "$T"' EXIT
cd "$CORPUS_DIR"
n=$(cat sa/*.txt | wc -l)
"$BIN" --db "$T/tokens.db" train --quiet --ham $(cat sa/train-ham.txt) --spam $(cat sa/train-spam.txt)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'nats:\n  url: nats://127.0.0.1:%s\nanalysis:\n  seen:\n    dir: ""\nserve:\n  log_level: warn\n' "$PORT" > "$T/c.yml"
now() { date +%s.%N; }

start_nats() {
  rm -rf "$T/store"
  nats-server -a 127.0.0.1 -p "$PORT" -js -sd "$T/store" >"$T/nats.log" 2>&1 &
  NATS_PID=$!
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nats-server did not start" >&2; cat "$T/nats.log" >&2; exit 1
}

best_of() { sort -g | head -1; }

# One process, no queue.
for r in $(seq "$ROUNDS"); do
  rm -f "$T/r.jsonl"
  t0=$(now)
  GOMAXPROCS=1 "$BIN" --config "$T/c.yml" --db "$T/tokens.db" analyze --workers 1 --out "jsonl:$T/r.jsonl" sa/ham sa/spam
  t1=$(now)
  echo "$t1 - $t0" | bc -l
done | best_of > "$T/inproc"
inproc=$(cat "$T/inproc")
echo "#bench scale analyze-in-process seconds=$inproc" >&2

declare -A secs
submit_best=""
for w in $WORKERS; do
  for r in $(seq "$ROUNDS"); do
    start_nats
    rm -f "$T"/w*.jsonl
    t0=$(now)
    "$BIN" --config "$T/c.yml" submit sa/ham sa/spam 2>"$T/submit.log" || { cat "$T/submit.log" >&2; exit 1; }
    t1=$(now)
    echo "$t1 - $t0" | bc -l >> "$T/submit"
    pids=()
    for i in $(seq "$w"); do
      GOMAXPROCS=1 "$BIN" --config "$T/c.yml" --db "$T/tokens.db" worker --workers 2 --until-empty \
        --out "jsonl:$T/w$i.jsonl" 2>>"$T/worker.log" &
      pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
    t2=$(now)
    got=$(cat "$T"/w*.jsonl | wc -l)
    [ "$got" -ge "$n" ] || { echo "only $got reports for $n mails" >&2; cat "$T/worker.log" >&2; exit 1; }
    echo "$t2 - $t1" | bc -l >> "$T/w$w"
    echo "#bench scale workers=$w round=$r seconds=$(echo "$t2 - $t1" | bc -l) reports=$got" >&2
    stop_nats
  done
  secs[$w]=$(best_of < "$T/w$w")
done
submit_best=$(best_of < "$T/submit")

cpus=$(nproc)
printf '\n%d mails, %d CPUs; best of %d rounds\n' "$n" "$cpus" "$ROUNDS"
awk -v n="$n" -v s="$submit_best" 'BEGIN{printf "submit:                         %6.2f s  %6.0f mails/s\n", s, n/s}'
awk -v n="$n" -v s="$inproc" 'BEGIN{printf "analyze, one process (1 CPU):   %6.2f s  %6.0f mails/s\n", s, n/s}'
one=${secs[1]:-}
for w in $WORKERS; do
  awk -v n="$n" -v s="${secs[$w]}" -v w="$w" -v one="$one" -v c="$cpus" \
    'BEGIN{r = (one != "") ? one/s : 0; printf "%d worker%s (GOMAXPROCS=1 each): %6.2f s  %6.0f mails/s  %.2fx one worker%s\n", w, (w>1?"s":" "), s, n/s, r, (w>c?"  (more workers than CPUs)":"")}'
done
if [ -n "$one" ]; then
  awk -v a="$inproc" -v b="$one" 'BEGIN{printf "NATS path against one process: %+.1f%% time\n", (b/a-1)*100}'
fi
