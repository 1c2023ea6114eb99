#!/usr/bin/env bash
# SMTP ingest on one node (SQLite), one node (PostgreSQL) and three nodes (PostgreSQL), side by
# side on this machine.
#
# Each run starts fresh servers (release build, temporary data directories, a fresh PostgreSQL
# database for the PostgreSQL runs) with one mailbox sink@mailroom.localhost, then Postfix's
# load generator smtp-source sends COUNT messages of SIZE bytes over SESSIONS sessions in all
# (SQLITE_COUNT for the SQLite run, which is several times faster, so that each run lasts long
# enough to measure):
#   sqlite  one node on its embedded default (SQLite + files)
#   pg1     one node on PostgreSQL
#   pg3     three nodes on one PostgreSQL database; three smtp-source runs in parallel, one per
#           node, each with COUNT/3 messages over SESSIONS/3 sessions
# Mailroom answers 250 only once a message is durably stored, parsed and threaded, so the time
# until smtp-source is done is the time to searchable mail. The PostgreSQL nodes share one blob
# store, as several nodes must: BLOBS=files (default) is one directory all nodes use
# (blobs.url = file://...), BLOBS=s3 a bucket at MAILROOM_TEST_S3_URL (such as moto_server).
#
# Usage: bench/nodes.sh        (COUNT=9000 SQLITE_COUNT=18000 SESSIONS=21 SIZE=5120 RUNS="sqlite pg1 pg3")
#   MAILROOM_BIN=path           use this binary instead of `cargo build --release`
#   POSTGRES_URL=url            a PostgreSQL server to create the databases on (default:
#                               MAILROOM_TEST_POSTGRES_URL, else postgres://postgres@127.0.0.1:5432/postgres)
#   BLOBS=files|s3              the PostgreSQL runs' shared blob store (s3 needs MAILROOM_TEST_S3_URL)
#   BENCH_DIR=dir               where the data lives (default: a new directory under ${TMPDIR:-/tmp})
#   KEEP=1                      keep the data directory and logs
# Needs smtp-source (Postfix: apt-get install postfix, "No configuration"), psql, python3, curl.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
COUNT=${COUNT:-9000}
SQLITE_COUNT=${SQLITE_COUNT:-$((COUNT * 2))}
SESSIONS=${SESSIONS:-21}
SIZE=${SIZE:-5120}
RUNS=${RUNS:-sqlite pg1 pg3}
BLOBS=${BLOBS:-files}
POSTGRES_URL=${POSTGRES_URL:-${MAILROOM_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}}
ADMIN_KEY=mr_bench_nodes_admin_key_0123456789abcdef
ENCRYPTION_KEY=AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=

die() { echo "nodes: $*" >&2; exit 1; }

SMTP_SOURCE=$(command -v smtp-source || echo /usr/sbin/smtp-source)
if [ ! -x "$SMTP_SOURCE" ]; then
  echo "nodes: smtp-source is missing. Install Postfix without configuring a system mail server:" >&2
  echo "  echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections" >&2
  echo "  DEBIAN_FRONTEND=noninteractive apt-get install -y postfix" >&2
  exit 1
fi
for tool in python3 curl psql; do command -v $tool >/dev/null || die "$tool is needed"; done
case " $RUNS " in *" pg"*) psql "$POSTGRES_URL" -Atqc 'select 1' >/dev/null || die "PostgreSQL is not reachable at $POSTGRES_URL (set POSTGRES_URL)";; esac
if [ "$BLOBS" = s3 ]; then
  [ -n "${MAILROOM_TEST_S3_URL:-}" ] || die "BLOBS=s3 needs MAILROOM_TEST_S3_URL (such as http://127.0.0.1:5000 for moto_server)"
elif [ "$BLOBS" != files ]; then
  die "BLOBS must be files or s3"
fi
[ $((COUNT % 3)) = 0 ] && [ $((SESSIONS % 3)) = 0 ] || die "COUNT and SESSIONS must be multiples of 3 (split over three nodes)"
[ "$SQLITE_COUNT" -gt 0 ] || die "SQLITE_COUNT must be positive"

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
  WORK=$(mktemp -d "$BENCH_DIR/nodes.XXXXXX")
else
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/nodes.XXXXXX")
fi

DNS_PID= PIDS=() DATABASE=
stop_nodes() {
  for pid in "${PIDS[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
drop_database() {
  if [ -n "$DATABASE" ]; then
    psql "$POSTGRES_URL" -Atqc "DROP DATABASE IF EXISTS $DATABASE WITH (FORCE)" >/dev/null 2>&1 || true
    DATABASE=
  fi
}
cleanup() {
  set +e
  stop_nodes
  drop_database
  if [ -n "$DNS_PID" ]; then kill "$DNS_PID" 2>/dev/null; wait "$DNS_PID" 2>/dev/null; fi
  if [ -n "${KEEP:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
calc() { python3 -c "print($1)"; }
# CPU seconds (user+system) of the given processes.
procs_cpu() { python3 - "$@" <<'EOF'
import os, sys
total = 0
for pid in sys.argv[1:]:
    try:
        s = open(f"/proc/{pid}/stat").read()
    except OSError:
        continue
    f = s[s.rindex(")") + 2:].split()
    total += int(f[11]) + int(f[12])
print(total / os.sysconf("SC_CLK_TCK"))
EOF
}
# CPU seconds of every process named postgres (the server and its backends).
postgres_cpu() { python3 - <<'EOF'
import os
total = 0
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        s = open(f"/proc/{p}/stat").read()
    except OSError:
        continue
    if s[s.index("(") + 1:s.rindex(")")] != "postgres":
        continue
    f = s[s.rindex(")") + 2:].split()
    total += int(f[11]) + int(f[12])
print(total / os.sysconf("SC_CLK_TCK"))
EOF
}
# Whole-machine jiffies: "busy total iowait".
machine_cpu() { awk '/^cpu /{busy=$2+$3+$4+$7+$8+$9; print busy, busy+$5+$6, $6}' /proc/stat; }

# --- A DNS responder answering NXDOMAIN (with an SOA, so negative answers are cached) to
# everything: SPF/DKIM/DMARC lookups are instant, as in bench/smtp-ingest.sh.
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

unset_mailroom=$(env | grep -o '^MAILROOM_[A-Z0-9_]*' | sed 's/^/-u /' | tr '\n' ' ' || true)

# start_nodes NAME N [env...]: starts N nodes at once; sets HTTP[] SMTP[] PIDS[].
start_nodes() {
  local name=$1 n=$2; shift 2
  HTTP=() SMTP=()
  for i in $(seq 0 $((n - 1))); do
    local dir=$WORK/$name/node$i
    mkdir -p "$dir"
    # shellcheck disable=SC2086
    env $unset_mailroom RUST_LOG=warn MAILROOM_DNS_NAMESERVERS="127.0.0.1:$DNS_PORT" \
      MAILROOM_ADMIN_API_KEY=$ADMIN_KEY MAILROOM_ENCRYPTION_KEY=$ENCRYPTION_KEY "$@" \
      "$BIN" serve --data-dir "$dir" --http-addr 127.0.0.1:0 --smtp-addr 127.0.0.1:0 > "$dir/out" 2> "$dir/err" &
    PIDS+=($!)
  done
  for i in $(seq 0 $((n - 1))); do
    local dir=$WORK/$name/node$i
    for _ in $(seq 1 300); do grep -q '^smtp listening on ' "$dir/out" 2>/dev/null && break; kill -0 "${PIDS[$i]}" || break; sleep 0.1; done
    grep -q '^smtp listening on ' "$dir/out" || { cat "$dir/err" >&2; die "$name node $i did not start"; }
    HTTP+=("http://$(sed -n 's/^http listening on //p' "$dir/out")")
    SMTP+=("$(sed -n 's/^smtp listening on //p' "$dir/out")")
  done
  curl -sfS -X POST -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' \
    -d '{"username":"sink"}' "${HTTP[0]}/v1/mailboxes" > /dev/null || die "could not create the mailbox"
}

# message.received events in the (shared) event log.
received() { python3 - "$1" "$ADMIN_KEY" <<'EOF'
import json, sys, urllib.request
url, key = sys.argv[1:]
after, n = "", 0
while True:
    q = f"{url}/v1/events?limit=1000" + (f"&after={after}" if after else "")
    page = json.load(urllib.request.urlopen(urllib.request.Request(q, headers={"Authorization": f"Bearer {key}"})))
    n += sum(1 for e in page["items"] if e["type"] == "message.received")
    if not page["items"]:
        break
    after = page["next_cursor"]
print(n)
EOF
}

# run NAME NODES COUNT [env...]: one measurement; appends a row to $WORK/rows.
run() {
  local name=$1 n=$2 count=$3; shift 3
  start_nodes "$name" "$n" "$@"
  local per=$((count / n)) sessions=$((SESSIONS / n))
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  local mr0 pg0 b0 t0 io0 mr1 pg1 b1 tt1 io1
  mr0=$(procs_cpu "${PIDS[@]}"); pg0=$(postgres_cpu); read -r b0 t0 io0 < <(machine_cpu)
  local start; start=$(now)
  local gens=()
  for i in $(seq 0 $((n - 1))); do
    echo "$name: smtp-source -s $sessions -m $per -l $SIZE -c -f bench@bench.test -t sink@mailroom.localhost ${SMTP[$i]}" >&2
    ( s0=$(now)
      /usr/bin/time -f '%U %S' -o "$WORK/$name/gen$i.cpu" \
        "$SMTP_SOURCE" -s "$sessions" -m "$per" -l "$SIZE" -c -f bench@bench.test -t sink@mailroom.localhost "${SMTP[$i]}" \
        > "$WORK/$name/gen$i.log" 2>&1 || { echo failed > "$WORK/$name/gen$i.failed"; }
      echo "$s0 $(now)" > "$WORK/$name/gen$i.time" ) &
    gens+=($!)
  done
  for g in "${gens[@]}"; do wait "$g"; done
  local end; end=$(now)
  mr1=$(procs_cpu "${PIDS[@]}"); pg1=$(postgres_cpu); read -r b1 tt1 io1 < <(machine_cpu)
  local rates=() gen_cpu=0
  for i in $(seq 0 $((n - 1))); do
    [ ! -e "$WORK/$name/gen$i.failed" ] || { tail -n 5 "$WORK/$name/gen$i.log" >&2; tail -n 20 "$WORK/$name/node$i/err" >&2; die "smtp-source against $name node $i failed"; }
    read -r s e < "$WORK/$name/gen$i.time"
    rates+=("$(calc "$per / ($e - $s)")")
    gen_cpu=$(calc "$gen_cpu + $(tr ' ' '+' < "$WORK/$name/gen$i.cpu")")
  done
  local stored; stored=$(received "${HTTP[0]}")
  [ "$stored" -eq "$count" ] || die "$name: $count messages acknowledged but the event log has $stored message.received events"
  local secs; secs=$(calc "$end - $start")
  local wall_rate; wall_rate=$(calc "$count / $secs")
  local sum_rate; sum_rate=$(calc "sum([$(IFS=,; echo "${rates[*]}")])")
  local per_node; per_node=$(python3 -c "print(' + '.join(f'{float(r):.0f}' for r in '${rates[*]}'.split()))")
  local busy; busy=$(calc "round(100 * ($b1 - $b0) / ($tt1 - $t0))")
  local iowait; iowait=$(calc "round(100 * ($io1 - $io0) / ($tt1 - $t0))")
  printf '| %s | %d | %d | %.0f msg/s | %s | %.1f s | %.1f / %.1f / %.1f s | %s%% (%s%% iowait) | %s |\n' \
    "$name" "$n" "$count" "$wall_rate" "$([ "$n" = 1 ] && echo - || echo "$per_node = $(printf '%.0f' "$sum_rate")")" "$secs" \
    "$(calc "$mr1 - $mr0")" "$(calc "$pg1 - $pg0")" "$gen_cpu" "$busy" "$iowait" "$load" >> "$WORK/rows"
  echo "$name: $count messages in $(printf '%.2f' "$secs") s = $(printf '%.1f' "$wall_rate") msg/s ($stored in the event log)" >&2
  stop_nodes
  drop_database
}

new_database() {
  DATABASE="mailroom_bench_$(date +%s)_$$_$RANDOM"
  psql "$POSTGRES_URL" -Atqc "CREATE DATABASE $DATABASE" >/dev/null
  local server=${POSTGRES_URL%%\?*} query=
  [ "$server" != "$POSTGRES_URL" ] && query="?${POSTGRES_URL#*\?}"
  DB_URL="${server%/*}/$DATABASE$query"
}

# Sets BLOB_ENV: a new bucket, or a new directory, that all nodes of a run share.
new_blob_store() {
  if [ "$BLOBS" = s3 ]; then
    local bucket="mailroom-bench-$(date +%s)-$RANDOM"
    curl -sfS -X PUT "${MAILROOM_TEST_S3_URL%/}/$bucket" > /dev/null || die "could not create bucket $bucket at $MAILROOM_TEST_S3_URL"
    BLOB_ENV=(MAILROOM_BLOBS_URL="s3://$bucket/bench" MAILROOM_BLOBS_ENDPOINT="${MAILROOM_TEST_S3_URL%/}" MAILROOM_BLOBS_REGION=us-east-1
      MAILROOM_BLOBS_ACCESS_KEY_ID=testing MAILROOM_BLOBS_SECRET_ACCESS_KEY=testing MAILROOM_BLOBS_ALLOW_HTTP=true)
  else
    local dir; dir=$(mktemp -d "$WORK/shared-blobs.XXXXXX")
    BLOB_ENV=(MAILROOM_BLOBS_URL="file://$dir")
  fi
}

FS=$(df -PT "$WORK" | awk 'NR==2{print $2" on "$7}')
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "COUNT=$COUNT SQLITE_COUNT=$SQLITE_COUNT SESSIONS=$SESSIONS SIZE=$SIZE BLOBS=$BLOBS; data in $WORK ($FS); load average $LOAD0" >&2
: > "$WORK/rows"
for r in $RUNS; do
  case $r in
    sqlite) run sqlite 1 "$SQLITE_COUNT" ;;
    pg1) new_database; new_blob_store; run pg1 1 "$COUNT" MAILROOM_DATABASE_URL="$DB_URL" "${BLOB_ENV[@]}" ;;
    pg3) new_database; new_blob_store; run pg3 3 "$COUNT" MAILROOM_DATABASE_URL="$DB_URL" "${BLOB_ENV[@]}" ;;
    *) die "RUNS: unknown run \`$r' (sqlite, pg1, pg3)" ;;
  esac
done

cpu_model=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
cat <<EOF

SMTP ingest: messages of $SIZE bytes, $SESSIONS sessions in all (smtp-source); PostgreSQL blobs: $BLOBS
machine: $(nproc) CPUs, ${cpu_model:-unknown CPU}, $(awk '/^MemTotal/{printf "%.1f GB", $2/1048576}' /proc/meminfo) RAM; data on $FS; load average before: $LOAD0

| Run | Nodes | Messages | Throughput (all acked / wall time) | Per node (sum) | Wall time | CPU: Mailroom / PostgreSQL / smtp-source | Machine busy | Load avg at start |
|---|---|---|---|---|---|---|---|---|
$(cat "$WORK/rows")
EOF
