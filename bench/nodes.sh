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
#   SESSIONS="21 84"            several loads: each run once per number of sessions (a closed
#                               loop: each session sends its next message once the last is
#                               answered). At 21 sessions the nodes wait on each other's
#                               answers more than on their CPU; more sessions load the system
#                               until its throughput stops growing: its capacity. The summary
#                               gives the ratios at each load and at capacity (the best rate
#                               of each run over the loads)
#   MAILROOM_BIN=path           use this binary instead of `cargo build --release`
#   POSTGRES_URL=url            a PostgreSQL server to create the databases on (default:
#                               MAILROOM_TEST_POSTGRES_URL, else postgres://postgres@127.0.0.1:5432/postgres)
#   BLOBS=files|s3              the PostgreSQL runs' shared blob store (s3 needs MAILROOM_TEST_S3_URL)
#   BENCH_DIR=dir               where the data lives (default: a new directory under ${TMPDIR:-/tmp})
#   KEEP=1                      keep the data directory and logs
#   PRIVATE_PG=1                run the PostgreSQL runs on a private server started for the
#                               benchmark (initdb in the data directory, default settings, fsync
#                               on, pg_stat_statements loaded): its CPU is only this benchmark's,
#                               and the top statements of each run are printed
#   TOP=n                       how many top statements to print per run (default 8)
#   PIN=1                       pin processes with taskset: the private PostgreSQL (PRIVATE_PG=1)
#                               to CPU 0, the Mailroom nodes and smtp-source to CPU 1, so the
#                               two sides cannot take each other's core and their CPU per
#                               message is read apart
#
# Besides throughput it reports, per run: PostgreSQL CPU per message (the run database's
# backends plus the server's own processes; with a shared server, other databases' backends
# are left out), Mailroom CPU per message per node, and the share of samples of active
# backends (pg_stat_activity every 100 ms) that wait on a lock (heavyweight `Lock`, and
# `LWLock` apart), with the commonest wait events.
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
for s in $SESSIONS; do
  case $s in ''|*[!0-9]*) die "SESSIONS: \`$s' is not a number of sessions" ;; esac
  [ "$s" -gt 0 ] || die "SESSIONS must be positive"
  case " $RUNS " in
    *" pg3 "*) [ $((COUNT % 3)) = 0 ] && [ $((s % 3)) = 0 ] || die "COUNT and SESSIONS must be multiples of 3 for pg3 (split over three nodes)" ;;
  esac
done
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

DNS_PID= PIDS=() DATABASE= SAMPLER_PID= PRIVATE_DIR=
PIN=${PIN:-}
NODE_PIN=() PG_PIN=()
if [ -n "$PIN" ]; then
  command -v taskset >/dev/null || die "PIN=1 needs taskset"
  [ "$(nproc)" -ge 2 ] || die "PIN=1 needs two CPUs"
  NODE_PIN=(taskset -c 1) PG_PIN=(taskset -c 0)
fi
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
stop_private_pg() {
  if [ -n "$PRIVATE_DIR" ]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PRIVATE_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    PRIVATE_DIR=
  fi
}
cleanup() {
  set +e
  stop_sampler
  stop_nodes
  drop_database
  stop_private_pg
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
# CPU seconds of each given process, one line "pid seconds" each.
pid_cpu() { python3 - "$@" <<'EOF'
import os, sys
for pid in sys.argv[1:]:
    try:
        s = open(f"/proc/{pid}/stat").read()
    except OSError:
        continue
    f = s[s.rindex(")") + 2:].split()
    print(pid, (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK"))
EOF
}
# The PostgreSQL processes that work for the run: the run database's backends and the server's
# own processes (WAL writer, checkpointer, background writer, autovacuum…), not other
# databases' backends.
run_pg_pids() {
  psql "$POSTGRES_URL" -Atqc "SELECT pid FROM pg_stat_activity WHERE (datname = '$DATABASE' OR backend_type <> 'client backend') AND pid <> pg_backend_pid()" 2>/dev/null | tr '\n' ' '
}
# Samples pg_stat_activity every 100 ms until stopped: one line per sample,
# "active|waiting on Lock|waiting on LWLock|wait events (type:event, comma-separated)".
start_sampler() {
  local out=$1
  setsid bash -c "while :; do
      echo \"SELECT count(*), count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*) FILTER (WHERE wait_event_type = 'LWLock'),
        coalesce(string_agg(wait_event_type || ':' || wait_event, ','), '') FROM pg_stat_activity
        WHERE datname = '$DATABASE' AND state = 'active' AND pid <> pg_backend_pid();\"
      sleep 0.1
    done | psql '$POSTGRES_URL' -Atq > '$out' 2>/dev/null" &
  SAMPLER_PID=$!
}
stop_sampler() {
  if [ -n "$SAMPLER_PID" ]; then
    kill -s TERM -- -"$SAMPLER_PID" 2>/dev/null || true
    wait "$SAMPLER_PID" 2>/dev/null || true
    SAMPLER_PID=
  fi
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
      ${NODE_PIN[@]+"${NODE_PIN[@]}"} "$BIN" serve --data-dir "$dir" --http-addr 127.0.0.1:0 --smtp-addr 127.0.0.1:0 > "$dir/out" 2> "$dir/err" &
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

# run NAME NODES COUNT SESSIONS [env...]: one measurement; appends a row to $WORK/rows and
# "name sessions rate" to $WORK/rates.
run() {
  local name=$1 n=$2 count=$3 all_sessions=$4; shift 4
  # The run's files (its nodes' data, logs, samples) are under $WORK/$tag.
  local tag=$name-$all_sessions
  start_nodes "$tag" "$n" "$@"
  local per=$((count / n)) sessions=$((all_sessions / n))
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  local mr0 pg0 b0 t0 io0 mr1 pg1 b1 tt1 io1
  mr0=$(procs_cpu "${PIDS[@]}"); pg0=$(postgres_cpu); read -r b0 t0 io0 < <(machine_cpu)
  local pgpids0=""
  if [ -n "$DATABASE" ]; then pgpids0=$(run_pg_pids); fi
  # shellcheck disable=SC2086
  pid_cpu $pgpids0 > "$WORK/$tag/pg.cpu0"
  pid_cpu "${PIDS[@]}" > "$WORK/$tag/nodes.cpu0"
  if [ -n "$DATABASE" ]; then
    if [ -n "$PRIVATE_DIR" ]; then psql "$DB_URL" -Atqc "SELECT pg_stat_statements_reset()" >/dev/null 2>&1 || true; fi
    start_sampler "$WORK/$tag/samples"
  fi
  local start; start=$(now)
  local gens=()
  for i in $(seq 0 $((n - 1))); do
    echo "$name: smtp-source -s $sessions -m $per -l $SIZE -c -f bench@bench.test -t sink@mailroom.localhost ${SMTP[$i]}" >&2
    ( s0=$(now)
      /usr/bin/time -f '%U %S' -o "$WORK/$tag/gen$i.cpu" \
        ${NODE_PIN[@]+"${NODE_PIN[@]}"} "$SMTP_SOURCE" -s "$sessions" -m "$per" -l "$SIZE" -c -f bench@bench.test -t sink@mailroom.localhost "${SMTP[$i]}" \
        > "$WORK/$tag/gen$i.log" 2>&1 || { echo failed > "$WORK/$tag/gen$i.failed"; }
      echo "$s0 $(now)" > "$WORK/$tag/gen$i.time" ) &
    gens+=($!)
  done
  for g in "${gens[@]}"; do wait "$g"; done
  local end; end=$(now)
  mr1=$(procs_cpu "${PIDS[@]}"); pg1=$(postgres_cpu); read -r b1 tt1 io1 < <(machine_cpu)
  stop_sampler
  pid_cpu "${PIDS[@]}" > "$WORK/$tag/nodes.cpu1"
  local pg_ms="-" node_ms locks="-"
  if [ -n "$DATABASE" ]; then
    # shellcheck disable=SC2086,SC2046
    pid_cpu $pgpids0 $(run_pg_pids) | sort -u > "$WORK/$tag/pg.cpu1"
    pg_ms=$(python3 - "$WORK/$tag/pg.cpu0" "$WORK/$tag/pg.cpu1" "$count" <<'EOF'
import sys
def load(p):
    return {l.split()[0]: float(l.split()[1]) for l in open(p) if l.strip()}
a, b, n = load(sys.argv[1]), load(sys.argv[2]), int(sys.argv[3])
print(f"{1000 * sum(v - a.get(k, 0.0) for k, v in b.items()) / n:.2f}")
EOF
)
    locks=$(python3 - "$WORK/$tag/samples" <<'EOF'
import collections, sys
active = lock = lw = 0
events = collections.Counter()
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("|")
    if len(f) != 4 or not f[0].isdigit():
        continue
    active += int(f[0]); lock += int(f[1]); lw += int(f[2])
    events.update(e for e in f[3].split(",") if e)
if active == 0:
    print("no active samples")
else:
    top = ", ".join(f"{e} {100 * c / active:.0f}%" for e, c in events.most_common(3))
    print(f"Lock {100 * lock / active:.1f}%, LWLock {100 * lw / active:.1f}% of {active} ({top or 'no waits'})")
EOF
)
    if [ -n "$PRIVATE_DIR" ]; then
      echo "$name: top statements by total time (pg_stat_statements):" >&2
      psql "$DB_URL" -Atqc "SELECT round(total_exec_time)::text || ' ms, ' || calls || ' calls, ' || round((total_exec_time / greatest(calls, 1))::numeric, 3) || ' ms/call, ' || plans || ' plans at ' || round((total_plan_time / greatest(plans, 1))::numeric, 3) || ' ms, ' || round((shared_blks_hit + shared_blks_read)::numeric / greatest(calls, 1), 1) || ' blocks/call, ' || round(rows::numeric / greatest(calls, 1), 1) || ' rows/call: ' || (SELECT CASE WHEN length(q) <= 200 THEN q ELSE left(q, 70) || ' … ' || right(q, 130) END FROM regexp_replace(query, '\s+', ' ', 'g') AS q) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY total_exec_time DESC LIMIT ${TOP:-8}" >&2 || true
      # A cached generic plan made while a table was nearly empty keeps scanning it whole
      # as it grows: sequential scans of the large tables show it.
      echo "$name: sequential and index scans by table (pg_stat_user_tables):" >&2
      psql "$DB_URL" -Atqc "SELECT relname || ': ' || seq_scan || ' seq scans reading ' || seq_tup_read || ' rows, ' || coalesce(idx_scan, 0) || ' index scans' FROM pg_stat_user_tables WHERE seq_tup_read > 0 ORDER BY seq_tup_read DESC LIMIT 6" >&2 || true
    fi
  fi
  node_ms=$(python3 - "$WORK/$tag/nodes.cpu0" "$WORK/$tag/nodes.cpu1" "$count" "$n" <<'EOF'
import sys
def load(p):
    return [(l.split()[0], float(l.split()[1])) for l in open(p) if l.strip()]
a, b, n, nodes = dict(load(sys.argv[1])), load(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
per = n / nodes
print(" / ".join(f"{1000 * (v - a.get(k, 0.0)) / per:.2f}" for k, v in b))
EOF
)
  local rates=() gen_cpu=0 s e
  for i in $(seq 0 $((n - 1))); do
    [ ! -e "$WORK/$tag/gen$i.failed" ] || { tail -n 5 "$WORK/$tag/gen$i.log" >&2; tail -n 20 "$WORK/$tag/node$i/err" >&2; die "smtp-source against $name node $i failed"; }
    read -r s e < "$WORK/$tag/gen$i.time"
    rates+=("$(calc "$per / ($e - $s)")")
    gen_cpu=$(calc "$gen_cpu + $(tr ' ' '+' < "$WORK/$tag/gen$i.cpu")")
  done
  local stored; stored=$(received "${HTTP[0]}")
  [ "$stored" -eq "$count" ] || die "$name: $count messages acknowledged but the event log has $stored message.received events"
  local secs; secs=$(calc "$end - $start")
  local wall_rate; wall_rate=$(calc "$count / $secs")
  local sum_rate; sum_rate=$(calc "sum([$(IFS=,; echo "${rates[*]}")])")
  local per_node; per_node=$(python3 -c "print(' + '.join(f'{float(r):.0f}' for r in '${rates[*]}'.split()))")
  local busy; busy=$(calc "round(100 * ($b1 - $b0) / ($tt1 - $t0))")
  local iowait; iowait=$(calc "round(100 * ($io1 - $io0) / ($tt1 - $t0))")
  echo "$name $all_sessions $wall_rate" >> "$WORK/rates"
  printf '| %s | %d | %d | %d | %.0f msg/s | %s | %.1f s | %.1f / %.1f / %.1f s | %s | %s | %s | %s%% (%s%% iowait) | %s |\n' \
    "$name" "$n" "$all_sessions" "$count" "$wall_rate" "$([ "$n" = 1 ] && echo - || echo "$per_node = $(printf '%.0f' "$sum_rate")")" "$secs" \
    "$(calc "$mr1 - $mr0")" "$(calc "$pg1 - $pg0")" "$gen_cpu" "$pg_ms" "$node_ms" "$locks" "$busy" "$iowait" "$load" >> "$WORK/rows"
  echo "$name: $count messages in $(printf '%.2f' "$secs") s = $(printf '%.1f' "$wall_rate") msg/s ($stored in the event log)" >&2
  stop_nodes
  drop_database
}

# Starts a private PostgreSQL server (PRIVATE_PG=1) and points POSTGRES_URL at it.
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
start_private_pg() {
  [ -x "$PG_BIN/initdb" ] || die "PRIVATE_PG=1 needs the PostgreSQL server binaries (initdb)"
  PRIVATE_DIR=$WORK/pg
  mkdir -p "$PRIVATE_DIR" && chown postgres "$PRIVATE_DIR"
  chmod o+x "$WORK"
  local port=$((40000 + RANDOM % 20000))
  runuser -u postgres -- "$PG_BIN/initdb" -D "$PRIVATE_DIR/data" -A trust -U postgres >/dev/null || die "initdb failed"
  cat >> "$PRIVATE_DIR/data/postgresql.conf" <<EOF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PRIVATE_DIR'
max_connections = 200
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
pg_stat_statements.track_planning = on
EOF
  runuser -u postgres -- ${PG_PIN[@]+"${PG_PIN[@]}"} "$PG_BIN/pg_ctl" -D "$PRIVATE_DIR/data" -l "$PRIVATE_DIR/log" -w start >/dev/null || { cat "$PRIVATE_DIR/log" >&2; die "the private PostgreSQL did not start"; }
  POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
}
if [ -n "${PRIVATE_PG:-}" ]; then
  case " $RUNS " in *" pg"*) start_private_pg ;; esac
fi

new_database() {
  DATABASE="mailroom_bench_$(date +%s)_$$_$RANDOM"
  psql "$POSTGRES_URL" -Atqc "CREATE DATABASE $DATABASE" >/dev/null
  local server=${POSTGRES_URL%%\?*} query=
  [ "$server" != "$POSTGRES_URL" ] && query="?${POSTGRES_URL#*\?}"
  DB_URL="${server%/*}/$DATABASE$query"
  if [ -n "$PRIVATE_DIR" ]; then psql "$DB_URL" -Atqc "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null; fi
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
: > "$WORK/rates"
for sessions in $SESSIONS; do
  for r in $RUNS; do
    case $r in
      sqlite) run sqlite 1 "$SQLITE_COUNT" "$sessions" ;;
      pg1) new_database; new_blob_store; run pg1 1 "$COUNT" "$sessions" MAILROOM_DATABASE_URL="$DB_URL" "${BLOB_ENV[@]}" ;;
      pg3) new_database; new_blob_store; run pg3 3 "$COUNT" "$sessions" MAILROOM_DATABASE_URL="$DB_URL" "${BLOB_ENV[@]}" ;;
      *) die "RUNS: unknown run \`$r' (sqlite, pg1, pg3)" ;;
    esac
  done
done

# The ratios the goals are stated in, at each load and at capacity (each run's best rate over
# the loads): pg1 against sqlite, pg3 against pg1.
ratios() { python3 - "$1" <<'EOF'
import collections, sys
rate = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    name, sessions, r = line.split()
    rate[name][int(sessions)] = float(r)
def ratio(a, b, at):
    x, y = rate[a].get(at), rate[b].get(at)
    return f"{x:.0f} / {y:.0f} = {100 * x / y:.0f}%" if x and y else "-"
pairs = [(a, b) for a, b in (("pg1", "sqlite"), ("pg3", "pg1")) if rate[a] and rate[b]]
if pairs:
    loads = sorted({s for r in rate.values() for s in r})
    print("| Sessions | " + " | ".join(f"{a} ÷ {b}" for a, b in pairs) + " |")
    print("|---|" + "---|" * len(pairs))
    for s in loads:
        print(f"| {s} | " + " | ".join(ratio(a, b, s) for a, b in pairs) + " |")
    if len(loads) > 1:
        best = {n: max(r.values()) for n, r in rate.items() if r}
        at = {n: max(r, key=r.get) for n, r in rate.items() if r}
        cells = [f"{best[a]:.0f} (at {at[a]}) / {best[b]:.0f} (at {at[b]}) = {100 * best[a] / best[b]:.0f}%" for a, b in pairs]
        print("| capacity (best over the loads) | " + " | ".join(cells) + " |")
EOF
}

cpu_model=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
cat <<EOF

SMTP ingest: messages of $SIZE bytes, $SESSIONS sessions in all (smtp-source, split over a run's nodes); PostgreSQL blobs: $BLOBS
machine: $(nproc) CPUs, ${cpu_model:-unknown CPU}, $(awk '/^MemTotal/{printf "%.1f GB", $2/1048576}' /proc/meminfo) RAM; data on $FS; load average before: $LOAD0
PostgreSQL: $([ -n "${PRIVATE_PG:-}" ] && echo "a private server for this benchmark" || echo "the shared server at $POSTGRES_URL"); pinning: $([ -n "$PIN" ] && echo "PostgreSQL on CPU 0 (private server only), nodes and smtp-source on CPU 1" || echo none)

| Run | Nodes | Sessions | Messages | Throughput (all acked / wall time) | Per node (sum) | Wall time | CPU s: Mailroom / all postgres processes / smtp-source | PostgreSQL CPU ms/msg (run's backends + server processes) | Mailroom CPU ms/msg per node | Active-backend samples waiting | Machine busy | Load avg at start |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
$(cat "$WORK/rows")

$(ratios "$WORK/rates")
EOF
