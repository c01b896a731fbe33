#!/usr/bin/env bash
# Tests systemd/nginx-moshi-stream.conf: runs nginx in the foreground from a temporary prefix on
# loopback ports, with two tiny TCP echo backends standing in for `moshi serve` daemons, and checks
# that (1) bytes pass both ways through the proxy, (2) least_conn spreads held-open connections
# over both backends, (3) a connection survives an idle pause and a 1 MiB transfer each way.
# Skips (exit 0) when nginx or its stream module is not installed. Needs python3.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
conf_source="$here/systemd/nginx-moshi-stream.conf"
nginx_bin="$(command -v nginx || true)"
if [[ -z "$nginx_bin" && -x /usr/sbin/nginx ]]; then nginx_bin=/usr/sbin/nginx; fi
if [[ -z "$nginx_bin" ]]; then echo "SKIP: nginx not installed (apt-get install nginx libnginx-mod-stream)"; exit 0; fi
stream_module=""
for candidate in /usr/lib/nginx/modules/ngx_stream_module.so /usr/lib64/nginx/modules/ngx_stream_module.so; do
    [[ -f "$candidate" ]] && stream_module="$candidate"
done
if [[ -z "$stream_module" ]] && ! "$nginx_bin" -V 2>&1 | grep -q -- '--with-stream\b[^=]'; then
    echo "SKIP: nginx has no stream module (apt-get install libnginx-mod-stream)"; exit 0
fi

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
backend_a=$(free_port); backend_b=$(free_port); front=$(free_port)

# Two echo backends that prefix each reply chunk with their name once per connection.
cat > "$work/backend.py" <<'PY'
import socket, sys, threading
name, port = sys.argv[1], int(sys.argv[2])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port)); srv.listen(64)
def serve(conn):
    with conn:
        conn.sendall(f"hello from {name}\n".encode())
        while True:
            data = conn.recv(65536)
            if not data: return
            conn.sendall(data)
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
PY
python3 "$work/backend.py" A "$backend_a" & pids+=($!)
python3 "$work/backend.py" B "$backend_b" & pids+=($!)

# The shipped file with the test's ports substituted.
sed -e "s/127\.0\.0\.1:8998/127.0.0.1:$backend_a/" -e "s/127\.0\.0\.1:8999/127.0.0.1:$backend_b/" \
    -e "s/listen 127\.0\.0\.1:8990;/listen 127.0.0.1:$front;/" "$conf_source" > "$work/moshi-stream.conf"
grep -q "127.0.0.1:$backend_a" "$work/moshi-stream.conf" && grep -q "listen 127.0.0.1:$front;" "$work/moshi-stream.conf" \
    || { echo "FAIL: could not substitute ports in $conf_source"; exit 1; }
mkdir -p "$work/logs"
{
    [[ -n "$stream_module" ]] && echo "load_module $stream_module;"
    echo "daemon off;"
    echo "master_process on;"
    echo "worker_processes 1;"
    echo "pid $work/nginx.pid;"
    echo "error_log $work/logs/error.log info;"
    echo "events { worker_connections 256; }"
    echo "include $work/moshi-stream.conf;"
} > "$work/nginx.conf"

"$nginx_bin" -t -p "$work" -c "$work/nginx.conf" -e "$work/logs/error.log" 2>&1 | sed 's/^/nginx -t: /'
"$nginx_bin" -p "$work" -c "$work/nginx.conf" -e "$work/logs/error.log" & pids+=($!)

python3 - "$front" "$backend_a" "$backend_b" <<'PY'
import socket, sys, time, os
front = int(sys.argv[1])
def connect():
    for _ in range(100):
        try:
            return socket.create_connection(("127.0.0.1", front), timeout=5)
        except OSError:
            time.sleep(0.05)
    raise SystemExit("FAIL: nginx did not start listening")
def read_line(sock):
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk: raise SystemExit("FAIL: connection closed early")
        data += chunk
    return data.decode().strip()
def read_exact(sock, n):
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(min(65536, n - len(data)))
        if not chunk: raise SystemExit("FAIL: connection closed mid-transfer")
        data += chunk
    return bytes(data)

# (2) Four connections held open: least_conn must use both backends, two each.
socks = [connect() for _ in range(4)]
names = [read_line(s) for s in socks]
used = sorted(n.split()[-1] for n in names)
print("held-open connections went to:", used)
if used != ["A", "A", "B", "B"]:
    raise SystemExit(f"FAIL: least_conn did not balance: {used}")

# (1) + (3) Bytes both ways, an idle pause, then 1 MiB each way on one connection.
s = socks[0]
s.sendall(b"ping\n")
if read_exact(s, 5) != b"ping\n": raise SystemExit("FAIL: echo mismatch")
time.sleep(2)
payload = os.urandom(1 << 20)
import threading
sender = threading.Thread(target=s.sendall, args=(payload,)); sender.start()
t0 = time.monotonic()
echoed = read_exact(s, len(payload)); sender.join()
if echoed != payload: raise SystemExit("FAIL: 1 MiB payload corrupted")
print(f"1 MiB echoed through the proxy in {1000*(time.monotonic()-t0):.1f} ms after a 2 s pause")

# Small-message latency: 80 ms-frame-sized writes come back promptly (no Nagle/buffering stall).
# Nagle plus delayed ACKs would show up as ~40 ms per round trip; judge the median, not the
# worst, so a busy machine does not fail the test.
trips = []
for i in range(21):
    msg = bytes([i]) * 200
    t = time.monotonic(); s.sendall(msg); read_exact(s, len(msg)); trips.append(time.monotonic() - t)
trips.sort()
median = trips[len(trips) // 2]
print(f"round trips of 21 x 200-byte messages: median {1000*median:.2f} ms, worst {1000*trips[-1]:.2f} ms")
if median > 0.03: raise SystemExit("FAIL: small messages are delayed (buffering or Nagle?)")
for c in socks: c.close()
print("PASS: nginx stream proxy (least_conn, long-lived stream, both backends used)")
PY
