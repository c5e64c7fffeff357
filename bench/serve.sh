#!/usr/bin/env bash
# The HTTP services under load: rspamd's /checkv2 beside mailsift serve's
# /v1/classify and /v1/analyze, each with 32 clients (bench/loadgen) posting
# the SpamAssassin test split (ham and spam), every mail PASSES times after a
# warm-up of WARMUP requests. Each target runs ROUNDS times, interleaved, and
# the table shows each target's median round by requests per second: on a
# shared machine one round can be much slower than the next. The load
# generator runs on the same machine as the servers, equally for all.
#
# rspamd 3.4 (Debian) runs privately: a temp dir holds its config, database,
# run and log dirs; one normal worker process per CPU on a free port of
# 127.0.0.1, no controller or proxy. It runs Debian's stock rules with the
# checks that need the network off, so the figure is rspamd's local analysis:
#   off: rbl (and the surbl and emails lists it carries), spf, dkim, dmarc,
#        arc, asn, fuzzy_check (DNS or UDP to rspamd.com); once_received (it
#        looks up the PTR of the sender's IP, which rspamd takes from the
#        Received headers when the client passes no IP and Hostname, as
#        here); hfilter's From-host MX/A lookup; phishing's phishtank
#        lookups. Bayes and every other Redis module (greylist, ratelimit,
#        neural, reputation, replies, history, url_redirector) are off as no
#        Redis is configured. Maps on maps.rspamd.com fail to load.
#   on:  the regexp rule set (hyperscan; the run waits until the compiled
#        database is loaded), chartable, mime_types, hfilter's other checks,
#        phishing's URL checks, forged_recipients, mid, maillist, multimap,
#        whitelist, force_actions, the language detector.
# DNS points at 127.0.0.1:53 with a 0.1 s timeout, so a lookup left over
# fails at once instead of stalling a task; the script counts the tasks that
# made any DNS request and says so. rspamd answers every request with
# "Connection: close", so it pays for one TCP connection per mail (the
# TCP connections column); mailsift, a Go net/http server, keeps them alive.
#
# mailsift gets a database trained on the train split (as bench/peers/
# mailsift.sh trains it) and the seen filters off, so that every pass
# analyses every mail in full (as in bench/analyze.sh).
#   make bench-serve     (or: bench/serve.sh; needs bin/mailsift, the corpus and rspamd;
#                        MAILSIFT_BIN: the binary, default bin/mailsift)
#   SKIP_MAILSIFT=1 bench/serve.sh    rspamd alone;  SKIP_RSPAMD=1: mailsift alone
#   SERVER_CPUS=0 LOADGEN_CPUS=1 bench/serve.sh    (make bench-serve-pinned)
#       each server on the first core and the load generator on the second
#       (taskset): the load generator then takes no CPU from the server it
#       measures. Unpinned, it shares the two cores with the server, and it
#       takes a larger share of them the more requests a second the server
#       answers, which weighs against the faster server.
# Knobs: CONCURRENCY (32), PASSES (2), WARMUP (500), ROUNDS (3),
# RSPAMD_WORKERS (nproc, or the number of SERVER_CPUS), BENCH_OUT (bench/out; its serve.jsonl gets the loadgen
# JSON object of every run).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN="${MAILSIFT_BIN:-$ROOT/bin/mailsift}"
CORPUS_DIR="${MAILSIFT_CORPUS:-$HOME/.cache/mailsift-corpus}"
OUT="${BENCH_OUT:-$ROOT/bench/out}"
C="${CONCURRENCY:-32}"
PASSES="${PASSES:-2}"
WARMUP="${WARMUP:-500}"
ROUNDS="${ROUNDS:-3}"
SERVER_CPUS="${SERVER_CPUS:-}"
LOADGEN_CPUS="${LOADGEN_CPUS:-}"
SPIN=() LPIN=()
for cpus in "$SERVER_CPUS" "$LOADGEN_CPUS"; do
  [ -z "$cpus" ] || taskset -c "$cpus" true 2>/dev/null ||
    { echo "cannot run on CPUs $cpus (this machine has $(nproc)): set SERVER_CPUS and LOADGEN_CPUS to CPUs it has" >&2; exit 2; }
done
if [ -n "$SERVER_CPUS" ]; then SPIN=(taskset -c "$SERVER_CPUS"); fi
if [ -n "$LOADGEN_CPUS" ]; then LPIN=(taskset -c "$LOADGEN_CPUS"); fi
WORKERS="${RSPAMD_WORKERS:-$("${SPIN[@]}" nproc)}"
SKIP_MAILSIFT="${SKIP_MAILSIFT:-}"
SKIP_RSPAMD="${SKIP_RSPAMD:-}"
mkdir -p "$OUT"
need=(curl)
[ -n "$SKIP_RSPAMD" ] || need+=(rspamd)
for p in "${need[@]}"; do
  command -v "$p" >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null; }
done
[ -n "$SKIP_MAILSIFT" ] || [ -x "$BIN" ] || { echo "no $BIN: make build" >&2; exit 2; }
for l in train-ham train-spam test-ham test-spam; do
  [ -s "$CORPUS_DIR/sa/$l.txt" ] || { echo "no $CORPUS_DIR/sa/$l.txt: make corpus" >&2; exit 2; }
done

T=$(mktemp -d -t bench-serve.XXXXXX)
PIDS=()
stop() { # stop PID: TERM, and KILL (its children too) if it lingers
  local pid=$1 kids
  kids=$(pgrep -P "$pid" || true)
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    # shellcheck disable=SC2086 # the children, one id each
    kill -KILL "$pid" $kids 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do stop "$pid"; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# server_cpu PID: CPU seconds (user+sys) used so far by PID and its live
# children (rspamd's workers), from /proc.
server_cpu() {
  local p
  for p in "$1" $(pgrep -P "$1"); do cat "/proc/$p/stat" 2>/dev/null || true; done |
    awk -v hz="$(getconf CLK_TCK)" '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " "); t += f[12] + f[13] }
      END { printf "%.2f\n", t / hz }'
}
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_http URL PID NAME LOG: until URL answers 2xx; fails if PID dies or after 120 s.
wait_http() {
  for _ in $(seq 600); do
    curl -sf -o /dev/null -m 1 "$1" && return 0
    kill -0 "$2" 2>/dev/null || { echo "$3 died; the end of $4:" >&2; tail -20 "$4" >&2; exit 1; }
    sleep 0.2
  done
  echo "$3 did not answer $1 within 120 s; the end of $4:" >&2; tail -20 "$4" >&2; exit 1
}

GO="${GO:-go}"
"$GO" build -o "$T/loadgen" ./bench/loadgen
cat "$CORPUS_DIR/sa/test-ham.txt" "$CORPUS_DIR/sa/test-spam.txt" > "$T/test.txt"
ntest=$(wc -l < "$T/test.txt")
N=$((ntest * PASSES))
TARGETS=()

if [ -z "$SKIP_RSPAMD" ]; then
  RS="$T/rspamd"
  mkdir -p "$RS/local.d" "$RS/db" "$RS/run" "$RS/log"
  RPORT=$(free_port)
  # The top of Debian's rspamd.conf with only the normal worker, on our port.
  cat > "$RS/rspamd.conf" <<EOF
.include "\$CONFDIR/common.conf"
options {
  pidfile = "\$RUNDIR/rspamd.pid";
  .include "\$CONFDIR/options.inc"
  .include(try=true; priority=1,duplicate=merge) "\$LOCAL_CONFDIR/local.d/options.inc"
}
logging {
  type = "file";
  filename = "\$LOGDIR/rspamd.log";
  .include "\$CONFDIR/logging.inc"
}
worker "normal" {
  bind_socket = "127.0.0.1:$RPORT";
  count = $WORKERS;
  .include "\$CONFDIR/worker-normal.inc"
}
EOF
  echo 'dns { nameserver = ["127.0.0.1:53"]; timeout = 0.1s; retransmits = 1; }' > "$RS/local.d/options.inc"
  for m in rbl surbl emails spf dkim dmarc arc asn fuzzy_check once_received; do
    echo 'enabled = false;' > "$RS/local.d/$m.conf"
  done
  echo 'from_enabled = false;' > "$RS/local.d/hfilter.conf"
  echo 'phishtank_enabled = false;' > "$RS/local.d/phishing.conf"
  user=()
  if [ "$(id -u)" = 0 ]; then
    # rspamd will not run its workers as root: hand them the temp dir.
    u=_rspamd; getent passwd "$u" >/dev/null || u=nobody
    chmod 711 "$T"
    chown -R "$u:$(id -gn "$u")" "$RS"
    user=(-u "$u" -g "$(id -gn "$u")")
  fi
  "${SPIN[@]}" rspamd -f "${user[@]}" -c "$RS/rspamd.conf" --var LOCAL_CONFDIR="$RS" \
    --var DBDIR="$RS/db" --var RUNDIR="$RS/run" --var LOGDIR="$RS/log" > "$RS/stdout" 2>&1 &
  RPID=$!
  PIDS+=("$RPID")
  RLOG="$RS/log/rspamd.log"
  wait_http "http://127.0.0.1:$RPORT/ping" "$RPID" rspamd "$RLOG"
  # Until the hs_helper has compiled the rules and every worker has loaded
  # them, rspamd runs its regexps through PCRE: wait for that.
  if grep -q 'loaded hyperscan engine' "$RLOG"; then
    for i in $(seq 1500); do
      ready=$(grep -c 'rspamd_worker_hyperscan_ready' "$RLOG" || true)
      { [ "$ready" -ge "$WORKERS" ] || grep -q 'compiled 0 regular expressions' "$RLOG"; } && break
      kill -0 "$RPID" 2>/dev/null || { echo "rspamd died:" >&2; tail -20 "$RLOG" >&2; exit 1; }
      [ "$i" = 1500 ] && echo "warning: rspamd has not loaded its hyperscan database after 300 s" >&2
      sleep 0.2
    done
  fi
  TARGETS+=("rspamd-checkv2 $RPID http://127.0.0.1:$RPORT/checkv2")
  echo "rspamd $(rspamd --version 2>&1 | grep -o '[0-9][0-9.]*$'): $WORKERS normal workers on 127.0.0.1:$RPORT, network checks off" >&2
fi

if [ -z "$SKIP_MAILSIFT" ]; then
  DB="$T/tokens.db"
  (cd "$CORPUS_DIR" && xargs -d '\n' -a sa/train-ham.txt "$BIN" --db "$DB" train -q --ham &&
    xargs -d '\n' -a sa/train-spam.txt "$BIN" --db "$DB" train -q --spam)
  printf 'analysis:\n  seen:\n    mails: {enabled: false}\n    attachments: {enabled: false}\n    ips: {enabled: false}\n' > "$T/mailsift.yml"
  MPORT=$(free_port)
  "${SPIN[@]}" "$BIN" --config "$T/mailsift.yml" --db "$DB" serve --http "127.0.0.1:$MPORT" --milter '' > "$T/mailsift.log" 2>&1 &
  MPID=$!
  PIDS+=("$MPID")
  wait_http "http://127.0.0.1:$MPORT/healthz" "$MPID" "mailsift serve" "$T/mailsift.log"
  TARGETS+=("mailsift-classify $MPID http://127.0.0.1:$MPORT/v1/classify"
    "mailsift-analyze $MPID http://127.0.0.1:$MPORT/v1/analyze")
  echo "mailsift serve on 127.0.0.1:$MPORT, trained on $(cat "$CORPUS_DIR"/sa/train-{ham,spam}.txt | wc -l) mails" >&2
fi
[ "${#TARGETS[@]}" -gt 0 ] || { echo "nothing to measure" >&2; exit 2; }

echo "$ntest test mails x $PASSES passes = $N requests per run, $WARMUP warm-up, $C clients, $ROUNDS rounds" >&2
[ -z "$SERVER_CPUS$LOADGEN_CPUS" ] || echo "servers on CPUs ${SERVER_CPUS:-any}, the load generator on CPUs ${LOADGEN_CPUS:-any}" >&2
: > "$OUT/serve.jsonl"
cd "$CORPUS_DIR" # the lists name mails relative to the corpus
for r in $(seq "$ROUNDS"); do
  for t in "${TARGETS[@]}"; do
    read -r name pid url <<< "$t"
    cpu0=$(server_cpu "$pid")
    "${LPIN[@]}" "$T/loadgen" -url "$url" -c "$C" -list "$T/test.txt" -n "$N" -warmup "$WARMUP" -json > "$T/run.json" 2> "$T/run.log" ||
      { cat "$T/run.log" >&2; exit 1; }
    cpu1=$(server_cpu "$pid")
    echo "#bench serve target=$name round=$r server_cpu_seconds=$(awk "BEGIN{print $cpu1 - $cpu0}") $(tail -1 "$T/run.log")" >&2
    python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); r["target"], r["round"] = sys.argv[2], int(sys.argv[3]); r["server_cpu_seconds"] = float(sys.argv[4]) - float(sys.argv[5]); print(json.dumps(r))' \
      "$T/run.json" "$name" "$r" "$cpu1" "$cpu0" >> "$OUT/serve.jsonl"
  done
done

if [ -z "$SKIP_RSPAMD" ]; then
  dns=$(grep -c 'dns req: [1-9]' "$RLOG" || true)
  [ "$dns" = 0 ] || echo "warning: $dns rspamd tasks made DNS requests (they failed within 0.1 s each)" >&2
fi

# The server's CPU per request is less disturbed by other load on the
# machine than the wall-clock figures; it counts the warm-up requests too.
python3 - "$OUT/serve.jsonl" "$ROUNDS" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in runs:
    r["cpu_ms"] = 1000 * r["server_cpu_seconds"] / (r["requests"] + r["warmup"])
    by.setdefault(r["target"], []).append(r)
print(f"\nHTTP service, {runs[0]['concurrency']} clients, {runs[0]['requests']} requests a run "
      f"(after {runs[0]['warmup']} warm-up), the median of {sys.argv[2]} rounds by req/s:\n")
print("| target | req/s | req/s, all rounds | MB/s | p50 ms | p99 ms | max ms | errors, all rounds"
      " | server CPU ms/req (median) | TCP connections |")
print("|---|---|---|---|---|---|---|---|---|---|")
med, cpu = {}, {}
for name, rs in by.items():
    rs = sorted(rs, key=lambda r: r["requests_per_sec"])
    m = med[name] = rs[(len(rs) - 1) // 2]
    cpu[name] = statistics.median(r["cpu_ms"] for r in rs)
    lat = m["latency_ms"]
    print(f"| {name} | {m['requests_per_sec']:,.0f} | {rs[0]['requests_per_sec']:,.0f}–{rs[-1]['requests_per_sec']:,.0f}"
          f" | {m['mb_per_sec']:.2f} | {lat['p50']:.1f} | {lat['p99']:.1f} | {lat['max']:.1f}"
          f" | {sum(r['errors'] for r in rs)} | {cpu[name]:.2f} | {m['connections']:,} |")
errs = [r["first_error"] for r in runs if r.get("first_error")]
if errs:
    print(f"\nfirst error: {errs[0]}")
if "mailsift-classify" in med and "rspamd-checkv2" in med:
    ratio = med["mailsift-classify"]["requests_per_sec"] / med["rspamd-checkv2"]["requests_per_sec"]
    print(f"\nmailsift /v1/classify / rspamd /checkv2: {ratio:.2f}x the requests per second, "
          f"{cpu['rspamd-checkv2'] / cpu['mailsift-classify']:.2f}x less server CPU per request")
PY
