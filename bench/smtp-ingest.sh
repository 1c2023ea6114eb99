#!/usr/bin/env bash
# SMTP ingest, Mailroom vs Postfix, side by side on this machine.
#
# Starts a fresh Mailroom (release build, SQLite, temporary data directory) with one mailbox
# sink@mailroom.localhost, and a private Postfix instance delivering postfix.test to a Maildir.
# Then Postfix's own load generator, smtp-source, sends COUNT messages of SIZE bytes over
# SESSIONS parallel sessions to each:
#   Mailroom: the time until smtp-source is done. Mailroom answers 250 only after the message
#             is durably stored, parsed and threaded, so that is the time to searchable mail.
#   Postfix:  the time until all COUNT messages are in the Maildir (queued, fsynced, delivered),
#             and, for reference, the time until smtp-source is done (queue files fsynced only).
#
# Usage: bench/smtp-ingest.sh            (COUNT=20000 SESSIONS=20 SIZE=5120 by default)
#   MAILROOM_BIN=path   use this binary instead of `cargo build --release`
#   BENCH_DIR=dir       where the data lives (default: a new directory under ${TMPDIR:-/tmp});
#                       put it on the disk you care about: on tmpfs, fsync costs nothing
#   KEEP=1              keep the data directory and logs
#   ORDER="postfix mailroom"  run Postfix first (default: Mailroom first)
# Needs root (Postfix drops privileges to its own users), postfix (smtp-source), python3, curl.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
COUNT=${COUNT:-20000}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-5120}

die() { echo "smtp-ingest: $*" >&2; exit 1; }

for tool in /usr/sbin/postfix /usr/sbin/postconf /usr/sbin/smtp-source; do
  if [ ! -x "$tool" ]; then
    echo "smtp-ingest: $tool is missing. Install Postfix without configuring a system mail server:" >&2
    echo "  echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections" >&2
    echo "  DEBIAN_FRONTEND=noninteractive apt-get install -y postfix" >&2
    echo "(.ci/run does this.)" >&2
    exit 1
  fi
done
command -v python3 >/dev/null || die "python3 is needed (DNS responder, JSON)"
command -v curl >/dev/null || die "curl is needed"
[ "$(id -u)" = 0 ] || die "run as root: Postfix's daemons switch to the postfix user"

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
  WORK=$(mktemp -d "$BENCH_DIR/smtp-ingest.XXXXXX")
else
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/smtp-ingest.XXXXXX")
fi
chmod 755 "$WORK" # Postfix's daemons run as postfix and nobody

DNS_PID= MAILROOM_PID= POSTFIX_PID=
cleanup() {
  set +e
  if [ -n "$POSTFIX_PID" ]; then
    postfix -c "$WORK/postfix/conf" stop >/dev/null 2>&1
    for _ in $(seq 1 100); do kill -0 "$POSTFIX_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$POSTFIX_PID" 2>/dev/null; then
      master=$(cat "$WORK/postfix/queue/pid/master.pid" 2>/dev/null | tr -d ' ')
      [ -n "$master" ] && kill -KILL -- "-$master" 2>/dev/null
      kill -KILL "$POSTFIX_PID" 2>/dev/null
    fi
    wait "$POSTFIX_PID" 2>/dev/null
  fi
  if [ -n "$MAILROOM_PID" ]; then
    kill -INT "$MAILROOM_PID" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$MAILROOM_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$MAILROOM_PID" 2>/dev/null
    wait "$MAILROOM_PID" 2>/dev/null
  fi
  if [ -n "$DNS_PID" ]; then kill "$DNS_PID" 2>/dev/null; wait "$DNS_PID" 2>/dev/null; fi
  if [ -n "${KEEP:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
# CPU seconds (user+system) of one process.
proc_cpu() { python3 - "$1" <<'EOF'
import os, sys
s = open(f"/proc/{sys.argv[1]}/stat").read()
f = s[s.rindex(")") + 2:].split()
print((int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK"))
EOF
}
# CPU seconds of every process in a session, plus its reaped children (Postfix's master calls
# setsid; its daemons come and go).
session_cpu() { python3 - "$1" <<'EOF'
import os, sys
sid, total = int(sys.argv[1]), 0
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        s = open(f"/proc/{p}/stat").read()
    except OSError:
        continue
    f = s[s.rindex(")") + 2:].split()
    if int(f[3]) == sid:
        total += sum(int(x) for x in f[11:15])
print(total / os.sysconf("SC_CLK_TCK"))
EOF
}
# Whole-machine jiffies: "busy total iowait".
machine_cpu() { awk '/^cpu /{busy=$2+$3+$4+$7+$8+$9; print busy, busy+$5+$6, $6}' /proc/stat; }
calc() { python3 -c "print($1)"; }

# --- A DNS responder answering NXDOMAIN to everything, so SPF/DKIM/DMARC lookups are instant.
# Like any authoritative server it puts an SOA in the authority section (RFC 2308), so
# resolvers cache the negative answer for its minimum TTL, as they would in production.
cat > "$WORK/dns.py" <<'EOF'
import socket, struct, sys
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
    opcode_rd = q[2] & 0x79  # opcode and RD from the query
    soa = b"\x00" + struct.pack(">HHIH", 6, 1, 300, 22) + b"\x00\x00" + struct.pack(">IIIII", 1, 3600, 600, 86400, 300)
    s.sendto(q[:2] + bytes([0x80 | opcode_rd, 0x83]) + struct.pack(">HHHH", 1, 0, 1, 0) + question + soa, peer)
EOF
python3 "$WORK/dns.py" > "$WORK/dns.port" &
DNS_PID=$!
for _ in $(seq 1 50); do [ -s "$WORK/dns.port" ] && break; sleep 0.1; done
DNS_PORT=$(head -n1 "$WORK/dns.port")
[ -n "$DNS_PORT" ] || die "the DNS responder did not start"

# --- Mailroom.
mkdir -p "$WORK/mailroom"
unset_mailroom=$(env | grep -o '^MAILROOM_[A-Z0-9_]*' | sed 's/^/-u /' | tr '\n' ' ' || true)
# shellcheck disable=SC2086
env $unset_mailroom RUST_LOG=warn MAILROOM_DNS_NAMESERVERS="127.0.0.1:$DNS_PORT" \
  "$BIN" serve --data-dir "$WORK/mailroom" --http-addr 127.0.0.1:0 --smtp-addr 127.0.0.1:0 \
  > "$WORK/mailroom.out" 2> "$WORK/mailroom.err" &
MAILROOM_PID=$!
for _ in $(seq 1 300); do grep -q '^smtp listening on ' "$WORK/mailroom.out" 2>/dev/null && break; kill -0 "$MAILROOM_PID" || break; sleep 0.1; done
grep -q '^smtp listening on ' "$WORK/mailroom.out" || { cat "$WORK/mailroom.err" >&2; die "mailroom did not start"; }
MR_HTTP=http://$(sed -n 's/^http listening on //p' "$WORK/mailroom.out")
MR_SMTP=$(sed -n 's/^smtp listening on //p' "$WORK/mailroom.out")
KEY=$(tr -d '[:space:]' < "$WORK/mailroom/admin-api-key")
curl -sfS -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"username":"sink"}' "$MR_HTTP/v1/mailboxes" > "$WORK/mailbox.json" || die "could not create the mailbox"

# message.received events in Mailroom's event log (20 pages of 1000 for 20000 messages).
mailroom_received() { python3 - "$MR_HTTP" "$KEY" <<'EOF'
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

# --- Postfix: a private instance, postfix.test delivered to the Maildir mail/inbox/.
PF=$WORK/postfix
PF_PORT=$(free_port)
mkdir -p "$PF/conf" "$PF/queue" "$PF/data" "$PF/mail"
chown postfix "$PF/data"
chown 65534:65534 "$PF/mail"
sed "s/^smtp \{1,\}inet .*/127.0.0.1:$PF_PORT inet n - n - - smtpd/" /usr/share/postfix/master.cf.dist > "$PF/conf/master.cf"
grep -q "^127.0.0.1:$PF_PORT inet" "$PF/conf/master.cf" || die "could not find the smtp line in master.cf.dist"
cat > "$PF/conf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = postfix.test
mydestination =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = postfix.test
virtual_mailbox_base = $PF/mail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
maillog_file = /dev/stdout
EOF
postconf -c "$PF/conf" -F '*/*/chroot = n'
postfix -c "$PF/conf" start-fg > "$WORK/postfix.log" 2>&1 &
POSTFIX_PID=$!
for _ in $(seq 1 200); do (echo > "/dev/tcp/127.0.0.1/$PF_PORT") 2>/dev/null && break; kill -0 "$POSTFIX_PID" || break; sleep 0.1; done
(echo > "/dev/tcp/127.0.0.1/$PF_PORT") 2>/dev/null || { cat "$WORK/postfix.log" >&2; die "postfix did not start"; }
PF_MASTER=$(tr -d ' ' < "$PF/queue/pid/master.pid")
MAILDIR_NEW=$PF/mail/inbox/new

FS=$(df -PT "$WORK" | awk 'NR==2{print $2" on "$7}')
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "COUNT=$COUNT SESSIONS=$SESSIONS SIZE=$SIZE; data in $WORK ($FS); load average $LOAD0" >&2

run_mailroom() {
  mr_load=$(cut -d' ' -f1 /proc/loadavg)
  echo "Mailroom: smtp-source -s $SESSIONS -m $COUNT -l $SIZE -c -f bench@bench.test -t sink@mailroom.localhost $MR_SMTP" >&2
  mr_rss0=$(awk '/^VmRSS/{print $2}' "/proc/$MAILROOM_PID/status")
  mr_cpu0=$(proc_cpu "$MAILROOM_PID"); read -r m_busy0 m_total0 m_io0 < <(machine_cpu)
  t0=$(now)
  smtp-source -s "$SESSIONS" -m "$COUNT" -l "$SIZE" -c -f bench@bench.test -t sink@mailroom.localhost "$MR_SMTP" > "$WORK/mailroom-source.log" 2>&1 \
    || { tail -n 5 "$WORK/mailroom-source.log" >&2; tail -n 20 "$WORK/mailroom.err" >&2; die "smtp-source against Mailroom failed"; }
  t1=$(now)
  mr_cpu1=$(proc_cpu "$MAILROOM_PID"); read -r m_busy1 m_total1 m_io1 < <(machine_cpu)
  mr_hwm=$(awk '/^VmHWM/{print $2}' "/proc/$MAILROOM_PID/status")
  mr_secs=$(calc "$t1 - $t0")
  mr_stored=$(mailroom_received)
  [ "$mr_stored" -eq "$COUNT" ] || die "Mailroom acknowledged $COUNT messages but its event log has $mr_stored message.received events"
  mr_machine=$(calc "round(100 * ($m_busy1 - $m_busy0) / ($m_total1 - $m_total0))")
  mr_iowait=$(calc "round(100 * ($m_io1 - $m_io0) / ($m_total1 - $m_total0))")
}

run_postfix() {
  pf_load=$(cut -d' ' -f1 /proc/loadavg)
  echo "Postfix:  smtp-source -s $SESSIONS -m $COUNT -l $SIZE -c -f bench@bench.test -t u@postfix.test 127.0.0.1:$PF_PORT" >&2
  pf_cpu0=$(session_cpu "$PF_MASTER"); read -r p_busy0 p_total0 p_io0 < <(machine_cpu)
  t0=$(now)
  smtp-source -s "$SESSIONS" -m "$COUNT" -l "$SIZE" -c -f bench@bench.test -t u@postfix.test "127.0.0.1:$PF_PORT" > "$WORK/postfix-source.log" 2>&1 \
    || { tail -n 5 "$WORK/postfix-source.log" >&2; die "smtp-source against Postfix failed"; }
  t1=$(now)
  deadline=$(calc "$t1 + 600")
  while :; do
    delivered=$(ls -U "$MAILDIR_NEW" 2>/dev/null | wc -l)
    [ "$delivered" -ge "$COUNT" ] && break
    [ "$(calc "int($(now) > $deadline)")" = 1 ] && die "Postfix delivered only $delivered of $COUNT messages within 600 s"
    sleep 0.05
  done
  t2=$(now)
  pf_cpu1=$(session_cpu "$PF_MASTER"); read -r p_busy1 p_total1 p_io1 < <(machine_cpu)
  pf_accept_secs=$(calc "$t1 - $t0")
  pf_secs=$(calc "$t2 - $t0")
  pf_machine=$(calc "round(100 * ($p_busy1 - $p_busy0) / ($p_total1 - $p_total0))")
  pf_iowait=$(calc "round(100 * ($p_io1 - $p_io0) / ($p_total1 - $p_total0))")
}

# One after the other, never at the same time. ORDER="postfix mailroom" swaps them.
for side in ${ORDER:-mailroom postfix}; do
  case $side in
    mailroom) run_mailroom ;;
    postfix) run_postfix ;;
    *) die "ORDER: unknown side \`$side'" ;;
  esac
done
[ -n "${mr_secs:-}" ] && [ -n "${pf_secs:-}" ] || die "ORDER must name both mailroom and postfix"

mr_rate=$(calc "$COUNT / $mr_secs")
pf_rate=$(calc "$COUNT / $pf_secs")
pf_accept_rate=$(calc "$COUNT / $pf_accept_secs")
cpu_model=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)

cat <<EOF

SMTP ingest: $COUNT messages of $SIZE bytes, $SESSIONS parallel sessions (smtp-source)
machine:  $(nproc) CPUs, ${cpu_model:-unknown CPU}, $(awk '/^MemTotal/{printf "%.1f GB", $2/1048576}' /proc/meminfo) RAM; data on $FS; load average before: $LOAD0
Mailroom: $(printf '%8.1f' "$mr_rate") msg/s  ($(printf '%.2f' "$mr_secs") s until every message was acknowledged = stored, parsed, threaded; $mr_stored in the event log)
Postfix:  $(printf '%8.1f' "$pf_rate") msg/s  ($(printf '%.2f' "$pf_secs") s until all $COUNT were delivered to the Maildir)
          $(printf '%8.1f' "$pf_accept_rate") msg/s  accept only ($(printf '%.2f' "$pf_accept_secs") s until smtp-source was done: queue files fsynced, delivery still running)
ratio:    Mailroom/Postfix = $(calc "round($mr_rate / $pf_rate, 2)")x (vs Postfix accept-only: $(calc "round($mr_rate / $pf_accept_rate, 2)")x)
Mailroom peak RSS: $(calc "round($mr_hwm / 1024, 1)") MB (VmHWM; $(calc "round($mr_rss0 / 1024, 1)") MB before the run)
CPU:      Mailroom process $(calc "round($mr_cpu1 - $mr_cpu0, 1)") s over $(printf '%.1f' "$mr_secs") s (machine ${mr_machine}% busy, ${mr_iowait}% iowait; load average $mr_load at the start);
          Postfix processes $(calc "round($pf_cpu1 - $pf_cpu0, 1)") s over $(printf '%.1f' "$pf_secs") s (machine ${pf_machine}% busy, ${pf_iowait}% iowait; load average $pf_load at the start)
order:    ${ORDER:-mailroom postfix}
EOF
