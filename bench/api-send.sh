#!/usr/bin/env bash
# The write and read paths side by side, in one run on one machine (Mailroom on SQLite):
#   1. SMTP ingest: smtp-source sends SMTP_COUNT messages of SIZE bytes over 20 sessions to
#      sink@mailroom.localhost (this also fills the mailbox the listing and search use);
#   2. listing: GET /v1/mailboxes/{sink}/messages?limit=20 on that mailbox (wrk, CONNS);
#   3. search:  the same with q=<a word every ingested message holds> (wrk, CONNS);
#   4. API send to a local mailbox: POST /v1/mailboxes/{agent}/messages to inbox@… (wrk with a
#      Lua script making each body unique, CONNS connections, DURATION);
#   5. API send to an external recipient (queued; delivery.routes sends it to Postfix's
#      smtp-sink on loopback), the same way.
# For each: the rate, the Mailroom process's CPU time per operation (utime+stime from
# /proc/<pid>/stat over the phase, divided by the operations), and at the end the ratio
# API send (local) / SMTP ingest and the peak RSS (VmHWM).
#
# Usage: bench/api-send.sh     (SMTP_COUNT=10000 SIZE=5120 CONNS=20 DURATION=20 by default)
#   MAILROOM_BIN=path   use this binary instead of `cargo build --release`
#   BENCH_DIR=dir       where the data lives (default: a new directory under ${TMPDIR:-/tmp})
#   KEEP=1              keep the data directory and logs
#   PERF_PHASE=name     record a perf profile of Mailroom during one phase (list, search, local,
#                       external); the report is left in the data directory (use with KEEP=1)
# Needs wrk, smtp-source and smtp-sink (Debian: wrk, postfix), python3, curl.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SMTP_COUNT=${SMTP_COUNT:-10000}
SIZE=${SIZE:-5120}
CONNS=${CONNS:-20}
DURATION=${DURATION:-20}

die() { echo "api-send: $*" >&2; exit 1; }
for tool in wrk smtp-source smtp-sink python3 curl; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || die "$tool is missing (Debian: apt-get install wrk postfix python3 curl)"
done
export PATH=$PATH:/usr/sbin

if [ -n "${MAILROOM_BIN:-}" ]; then
  BIN=$MAILROOM_BIN
else
  echo "building the release binary (cargo build --release -p mailroom)..." >&2
  (cd "$ROOT" && cargo build --release -p mailroom --bin mailroom >&2)
  BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/mailroom
fi
[ -x "$BIN" ] || die "no mailroom binary at $BIN"

if [ -n "${BENCH_DIR:-}" ]; then
  mkdir -p "$BENCH_DIR"
  WORK=$(mktemp -d "$BENCH_DIR/api-send.XXXXXX")
else
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/api-send.XXXXXX")
fi

DNS_PID= MAILROOM_PID= SINK_PID=
cleanup() {
  set +e
  if [ -n "$MAILROOM_PID" ]; then
    kill -INT "$MAILROOM_PID" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$MAILROOM_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$MAILROOM_PID" 2>/dev/null
    wait "$MAILROOM_PID" 2>/dev/null
  fi
  for pid in $SINK_PID $DNS_PID; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  if [ -n "${KEEP:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
calc() { python3 -c "print($1)"; }
# CPU seconds (user+system) of one process.
proc_cpu() { python3 - "$1" <<'EOF'
import os, sys
s = open(f"/proc/{sys.argv[1]}/stat").read()
f = s[s.rindex(")") + 2:].split()
print((int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK"))
EOF
}

# --- A DNS responder answering NXDOMAIN to everything (SPF/DKIM/DMARC lookups are instant).
cat > "$WORK/dns.py" <<'EOF'
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
while True:
    q, peer = s.recvfrom(4096)
    if len(q) < 12:
        continue
    i = 12
    while i < len(q) and q[i] != 0:
        i += q[i] + 1
    question = q[12:i + 5]
    opcode_rd = q[2] & 0x79
    soa = b"\x00" + struct.pack(">HHIH", 6, 1, 300, 22) + b"\x00\x00" + struct.pack(">IIIII", 1, 3600, 600, 86400, 300)
    s.sendto(q[:2] + bytes([0x80 | opcode_rd, 0x83]) + struct.pack(">HHHH", 1, 0, 1, 0) + question + soa, peer)
EOF
python3 "$WORK/dns.py" > "$WORK/dns.port" &
DNS_PID=$!
for _ in $(seq 1 50); do [ -s "$WORK/dns.port" ] && break; sleep 0.1; done
DNS_PORT=$(head -n1 "$WORK/dns.port")
[ -n "$DNS_PORT" ] || die "the DNS responder did not start"

# --- The external SMTP server: Postfix's smtp-sink, which accepts and discards.
SINK_PORT=$(free_port)
smtp-sink -4 "127.0.0.1:$SINK_PORT" 256 > "$WORK/smtp-sink.log" 2>&1 &
SINK_PID=$!

# --- Mailroom.
mkdir -p "$WORK/mailroom"
unset_mailroom=$(env | grep -o '^MAILROOM_[A-Z0-9_]*' | sed 's/^/-u /' | tr '\n' ' ' || true)
# shellcheck disable=SC2086
env $unset_mailroom RUST_LOG=warn MAILROOM_DNS_NAMESERVERS="127.0.0.1:$DNS_PORT" \
  MAILROOM_DELIVERY_ROUTES="external.test=127.0.0.1:$SINK_PORT" \
  "$BIN" serve --data-dir "$WORK/mailroom" --http-addr 127.0.0.1:0 --smtp-addr 127.0.0.1:0 \
  > "$WORK/mailroom.out" 2> "$WORK/mailroom.err" &
MAILROOM_PID=$!
for _ in $(seq 1 300); do grep -q '^smtp listening on ' "$WORK/mailroom.out" 2>/dev/null && break; kill -0 "$MAILROOM_PID" || break; sleep 0.1; done
grep -q '^smtp listening on ' "$WORK/mailroom.out" || { cat "$WORK/mailroom.err" >&2; die "mailroom did not start"; }
HTTP=http://$(sed -n 's/^http listening on //p' "$WORK/mailroom.out")
SMTP=$(sed -n 's/^smtp listening on //p' "$WORK/mailroom.out")
KEY=$(tr -d '[:space:]' < "$WORK/mailroom/admin-api-key")
mailbox() {
  curl -sfS -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d "{\"username\":\"$1\"}" "$HTTP/v1/mailboxes" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}
SINK=$(mailbox sink) || die "could not create the mailbox sink"
AGENT=$(mailbox agent) || die "could not create the mailbox agent"
INBOX=$(mailbox inbox) || die "could not create the mailbox inbox"
DOMAIN=$(curl -sfS -H "Authorization: Bearer $KEY" "$HTTP/v1/mailboxes/$INBOX" | python3 -c 'import json,sys; print(json.load(sys.stdin)["address"].split("@")[1])')

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
FS=$(df -PT "$WORK" | awk 'NR==2{print $2" on "$7}')
echo "SMTP_COUNT=$SMTP_COUNT SIZE=$SIZE CONNS=$CONNS DURATION=${DURATION}s; data in $WORK ($FS); load average $LOAD0" >&2

# Runs wrk with a Lua script; sets ops (completed requests), bad (non-2xx + errors), secs,
# rate, cpu_ms (Mailroom CPU ms per request) and p50/p99 latency.
run_wrk() {
  local name=$1 script=$2 url=$3
  local c0 c1
  c0=$(proc_cpu "$MAILROOM_PID")
  local perf_pid=
  if [ "${PERF_PHASE:-}" = "$name" ]; then
    perf record -F 999 -g -o "$WORK/perf-$name.data" -p "$MAILROOM_PID" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s "$script" "$url" > "$WORK/wrk-$name.log" 2>&1 || { cat "$WORK/wrk-$name.log" >&2; die "wrk ($name) failed"; }
  c1=$(proc_cpu "$MAILROOM_PID")
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid"; wait "$perf_pid" || true
    perf report -i "$WORK/perf-$name.data" --no-children --percent-limit 0.7 --stdio -g none > "$WORK/perf-$name.txt" 2>/dev/null || true
    echo "perf profile of $name: $WORK/perf-$name.txt" >&2
  fi
  ops=$(awk '/requests in/{print $1}' "$WORK/wrk-$name.log")
  secs=$(awk '/requests in/{gsub("s,","",$4); print $4}' "$WORK/wrk-$name.log")
  bad=$(awk '/Non-2xx or 3xx responses/{n+=$5} /Socket errors/{gsub(",","");n+=$4+$6+$8+$10} END{print n+0}' "$WORK/wrk-$name.log")
  p50=$(awk '$1=="50%"{print $2}' "$WORK/wrk-$name.log")
  p99=$(awk '$1=="99%"{print $2}' "$WORK/wrk-$name.log")
  rate=$(calc "round($ops / $secs, 1)")
  cpu_ms=$(calc "round(1000 * ($c1 - $c0) / max($ops, 1), 3)")
  [ "$bad" -eq 0 ] || { tail -n 20 "$WORK/wrk-$name.log" >&2; tail -n 20 "$WORK/mailroom.err" >&2; die "$name: $bad requests failed"; }
}

get_script() { # path
  cat > "$WORK/get-$2.lua" <<EOF
wrk.headers["Authorization"] = "Bearer $KEY"
request = function() return wrk.format("GET", "$1") end
EOF
  echo "$WORK/get-$2.lua"
}
send_script() { # mailbox to name
  cat > "$WORK/send-$3.lua" <<EOF
wrk.headers["Authorization"] = "Bearer $KEY"
wrk.headers["Content-Type"] = "application/json"
local n = 0
local id = tostring(math.random(1, 1e9))
request = function()
  n = n + 1
  local body = '{"to":["$2"],"subject":"bench ' .. id .. ' ' .. n .. '","text":"Hello from the benchmark, message ' .. id .. '-' .. n .. '.\\\\nA second line so the body is not trivial."}'
  return wrk.format("POST", "/v1/mailboxes/$1/messages", nil, body)
end
EOF
  echo "$WORK/send-$3.lua"
}

# --- 1. SMTP ingest (fills the sink mailbox).
echo "SMTP ingest: smtp-source -s 20 -m $SMTP_COUNT -l $SIZE -c -t sink@$DOMAIN $SMTP" >&2
c0=$(proc_cpu "$MAILROOM_PID"); t0=$(now)
smtp-source -s 20 -m "$SMTP_COUNT" -l "$SIZE" -c -f bench@bench.test -t "sink@$DOMAIN" "$SMTP" > "$WORK/smtp-source.log" 2>&1 \
  || { tail -n 5 "$WORK/smtp-source.log" >&2; tail -n 20 "$WORK/mailroom.err" >&2; die "smtp-source failed"; }
t1=$(now); c1=$(proc_cpu "$MAILROOM_PID")
smtp_rate=$(calc "round($SMTP_COUNT / ($t1 - $t0), 1)")
smtp_cpu=$(calc "round(1000 * ($c1 - $c0) / $SMTP_COUNT, 3)")
stored=$(curl -sfS -H "Authorization: Bearer $KEY" "$HTTP/v1/mailboxes/$SINK/messages?limit=1" \
  | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
[ "$stored" = 1 ] || die "the sink mailbox is empty after the ingest"
# A word of the ingested messages' text to search for (every message holds it; the last word of
# a query also matches as a prefix, so 12 letters of it are enough).
WORD=$(curl -sfS -H "Authorization: Bearer $KEY" "$HTTP/v1/mailboxes/$SINK/messages?limit=1" | python3 -c '
import json, re, sys
m = json.load(sys.stdin)["items"][0]
words = re.findall(r"[A-Za-z]{3,}", (m.get("subject") or "") + " " + (m.get("text") or ""))
print(words[0][:12] if words else "smtp")')

# --- 2. Listing, 3. search.
run_wrk list "$(get_script "/v1/mailboxes/$SINK/messages?limit=20" list)" "$HTTP"
list_rate=$rate list_cpu=$cpu_ms list_ops=$ops list_p50=$p50 list_p99=$p99
run_wrk search "$(get_script "/v1/mailboxes/$SINK/messages?limit=20&q=$WORD" search)" "$HTTP"
search_rate=$rate search_cpu=$cpu_ms search_ops=$ops search_p50=$p50 search_p99=$p99

# --- 4. API send to a local mailbox, 5. to an external recipient (queued).
run_wrk local "$(send_script "$AGENT" "inbox@$DOMAIN" local)" "$HTTP"
local_rate=$rate local_cpu=$cpu_ms local_ops=$ops local_p50=$p50 local_p99=$p99
run_wrk external "$(send_script "$AGENT" "someone@external.test" external)" "$HTTP"
ext_rate=$rate ext_cpu=$cpu_ms ext_ops=$ops ext_p50=$p50 ext_p99=$p99

hwm=$(awk '/^VmHWM/{print $2}' "/proc/$MAILROOM_PID/status")
rss=$(awk '/^VmRSS/{print $2}' "/proc/$MAILROOM_PID/status")
cpu_model=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
cat <<EOF

Mailroom (SQLite), one run; $(nproc) CPUs, ${cpu_model:-unknown CPU}; data on $FS; load average before: $LOAD0
| operation | rate | CPU per op | p50 / p99 | operations |
|---|---|---|---|---|
| SMTP ingest (smtp-source, 20 sessions, $SIZE B) | $smtp_rate msg/s | $smtp_cpu ms | | $SMTP_COUNT |
| API send, local mailbox ($CONNS conns) | $local_rate req/s | $local_cpu ms | $local_p50 / $local_p99 | $local_ops |
| API send, external (queued) ($CONNS conns) | $ext_rate req/s | $ext_cpu ms | $ext_p50 / $ext_p99 | $ext_ops |
| listing, $SMTP_COUNT-message mailbox ($CONNS conns) | $list_rate req/s | $list_cpu ms | $list_p50 / $list_p99 | $list_ops |
| search q=$WORD, $SMTP_COUNT-message mailbox ($CONNS conns) | $search_rate req/s | $search_cpu ms | $search_p50 / $search_p99 | $search_ops |
ratio API send (local) / SMTP ingest: $(calc "round($local_rate / $smtp_rate, 2)")
Mailroom RSS: peak $(calc "round($hwm / 1024, 1)") MB (VmHWM), now $(calc "round($rss / 1024, 1)") MB
EOF
