#!/usr/bin/env python3
"""The memory a large received message takes, over time.

Starts `mailroom serve` (embedded default: SQLite + files, a temporary data directory), creates
one mailbox, sends it over SMTP the message of the memory test in crates/mailroom/tests/hostile.rs
(19 MB, most of it a base64 attachment) and samples the server's VmHWM (peak RSS), VmRSS,
RssAnon and RssFile from /proc every 2 ms, printing each change of 2 MB or more with the time
since DATA began. The 250 arrives once the message is stored, so the samples show what reading
the message, parsing it and storing it each add.

Usage: bench/receive-memory.py [MAILROOM_BIN] [RUNS]
  MAILROOM_BIN  the binary (default: target/debug/mailroom, as the test runs it)
  RUNS          how many fresh servers to measure one after another (default 1; with more,
                only each run's growth of the peak is printed)
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/debug/mailroom")
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 1


def status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0]) // 1024
    return fields


def run(verbose):
    data_dir = tempfile.mkdtemp(prefix="receive-memory.")
    server = subprocess.Popen(
        [BIN, "serve", "--http-addr", "127.0.0.1:0", "--smtp-addr", "127.0.0.1:0", "--data-dir", data_dir],
        stdout=subprocess.PIPE,
        env=dict(os.environ, RUST_LOG="warn"),
        text=True,
    )
    try:
        url = smtp = None
        while smtp is None:
            line = server.stdout.readline()
            if not line:
                sys.exit("receive-memory: the server exited before listening")
            if line.startswith("http listening on "):
                url = "http://" + line.split()[-1]
            elif line.startswith("smtp listening on "):
                smtp = line.split()[-1]
        threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
        with open(os.path.join(data_dir, "admin-api-key")) as f:
            key = f.read().strip()
        request = urllib.request.Request(
            url + "/v1/mailboxes",
            data=json.dumps({"username": "target"}).encode(),
            headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"},
        )
        address = json.load(urllib.request.urlopen(request))["address"]
        attachment = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3\r\n" * 250_000
        message = (
            f"From: a@b.test\r\nTo: {address}\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="z"\r\n\r\n--z\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n'
            "--z\r\nContent-Type: application/octet-stream\r\n"
            'Content-Disposition: attachment; filename="big.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
            f"{attachment}--z--\r\n"
        ).encode()
        idle = status(server.pid)
        samples = []
        done = threading.Event()

        def sample():
            while not done.is_set():
                samples.append((time.monotonic(), status(server.pid)))
                time.sleep(0.002)

        sampler = threading.Thread(target=sample)
        host, port = smtp.rsplit(":", 1)
        conn = socket.create_connection((host, int(port)))
        f = conn.makefile("rwb")

        def reply():
            while True:
                line = f.readline()
                if line[3:4] != b"-":
                    return line.decode().strip()

        reply()
        for command in ["EHLO client.test", "MAIL FROM:<a@b.test>", f"RCPT TO:<{address}>", "DATA"]:
            f.write((command + "\r\n").encode())
            f.flush()
            reply()
        sampler.start()
        started = time.monotonic()
        f.write(message + b".\r\n")
        f.flush()
        answer = reply()
        took = time.monotonic() - started
        time.sleep(0.2)
        done.set()
        sampler.join()
        f.write(b"QUIT\r\n")
        f.flush()
        after = status(server.pid)
        growth = after["VmHWM"] - idle["VmHWM"]
        print(f"{len(message) >> 20} MB message: {answer[:40]}… in {took:.2f} s; peak {idle['VmHWM']} -> {after['VmHWM']} MB (+{growth} MB)")
        if verbose:
            last = None
            for at, s in samples:
                if last is None or abs(s["VmRSS"] - last["VmRSS"]) >= 2 or s["VmHWM"] != last["VmHWM"]:
                    print(f"  {at - started:7.3f} s  peak {s['VmHWM']:4} MB  rss {s['VmRSS']:4} MB  (anon {s['RssAnon']}, file {s['RssFile']})")
                    last = s
        return growth
    finally:
        server.terminate()
        server.wait()


growths = [run(RUNS == 1) for _ in range(RUNS)]
if RUNS > 1:
    print("growth of the peak per run (MB):", " ".join(str(g) for g in growths))
