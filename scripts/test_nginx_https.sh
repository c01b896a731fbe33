#!/usr/bin/env bash
# Tests systemd/nginx-moshi-https.conf: nginx (foreground, temporary prefix, loopback ports, a
# throw-away self-signed certificate) terminating TLS in front of a real `moshi serve --synthetic`;
# checks (1) the browser page over https://, (2) a conversation over wss:// (1.5 s of Ogg Opus in, sent at once: within the 2 s a client may run ahead of real time;
# the handshake and Ogg Opus audio back). Skips (exit 0) when nginx is not installed.
# Needs openssl, curl, python3, ffmpeg and a built moshi (.build/debug or .build/release).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
nginx_bin="$(command -v nginx || true)"
if [[ -z "$nginx_bin" && -x /usr/sbin/nginx ]]; then nginx_bin=/usr/sbin/nginx; fi
if [[ -z "$nginx_bin" ]]; then echo "SKIP: nginx not installed (apt-get install nginx)"; exit 0; fi
moshi="${MOSHI:-}"
for candidate in "$here/.build/release/moshi" "$here/.build/debug/moshi"; do
    [[ -z "$moshi" && -x "$candidate" ]] && moshi="$candidate"
done
[[ -n "$moshi" ]] || { echo "FAIL: build moshi first (swift build)"; exit 1; }

work="$(mktemp -d)"
pids=()
cleanup() {
    local status=$?
    if [[ $status -ne 0 && -f "$work/moshi.err" ]]; then echo "--- moshi serve's log:"; tail -n 20 "$work/moshi.err"; fi
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
backend=$(free_port); front=$(free_port)

# The daemon, plain, on loopback.
: > "$work/moshi.toml"
MOSHI_SERVER_METRICS_PORT=0 "$moshi" serve --synthetic --host 127.0.0.1 --port "$backend" --config "$work/moshi.toml" \
    > "$work/moshi.out" 2> "$work/moshi.err" &
pids+=($!)
for _ in $(seq 1 300); do grep -q "listening on" "$work/moshi.out" 2>/dev/null && break; sleep 0.2; done
grep -q "listening on" "$work/moshi.out" || { echo "FAIL: moshi serve did not start"; cat "$work/moshi.err"; exit 1; }

# nginx with the shipped server block, its paths and ports rewritten to the test's.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
sed -e "s#listen 443 ssl;#listen 127.0.0.1:$front ssl;#" \
    -e "s#/etc/ssl/moshi/fullchain.pem#$work/cert.pem#" -e "s#/etc/ssl/moshi/privkey.pem#$work/key.pem#" \
    -e "s#127.0.0.1:8998#127.0.0.1:$backend#g" "$here/systemd/nginx-moshi-https.conf" > "$work/moshi-https.conf"
mkdir -p "$work/logs"
cat > "$work/nginx.conf" <<CONF
daemon off;
pid $work/nginx.pid;
error_log $work/logs/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $work/body; proxy_temp_path $work/proxy; fastcgi_temp_path $work/fastcgi;
    uwsgi_temp_path $work/uwsgi; scgi_temp_path $work/scgi;
    include $work/moshi-https.conf;
}
CONF
"$nginx_bin" -p "$work" -c "$work/nginx.conf" &
pids+=($!)
for _ in $(seq 1 50); do curl -sk -o /dev/null "https://127.0.0.1:$front/" && break; sleep 0.1; done

# (1) The page over https.
curl -sk --max-time 10 -o "$work/page.html" "https://127.0.0.1:$front/" || true
grep -q "<title>SwiftMoshi</title>" "$work/page.html" || { echo "FAIL: no page over https"; cat "$work/logs/error.log"; exit 1; }
curl -sk --max-time 10 -o "$work/client.js" "https://127.0.0.1:$front/client.js" || true
grep -q "AudioEncoder" "$work/client.js" || { echo "FAIL: no client.js"; exit 1; }
echo "ok: the page over https through nginx"

# (2) A conversation over wss.
ffmpeg -nostdin -loglevel error -f lavfi -i "sine=frequency=440:duration=1.5:sample_rate=24000" -c:a libopus -f ogg "$work/talk.ogg"
python3 - "$front" "$work/talk.ogg" <<'PY'
import socket, ssl, sys, time
port, ogg = int(sys.argv[1]), open(sys.argv[2], "rb").read()
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=15), server_hostname="localhost")
s.sendall(b"GET /api/chat HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
got = b""
while b"\r\n\r\n" not in got: got += s.recv(65536)
head, rest = got.split(b"\r\n\r\n", 1)
assert head.startswith(b"HTTP/1.1 101"), head
def frame(opcode, payload):
    n = len(payload)
    h = bytes([0x80 | opcode]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126, n >> 8, n & 255]))
    return h + b"\0\0\0\0" + payload
for i in range(0, len(ogg), 1000): s.sendall(frame(2, b"\x01" + ogg[i:i + 1000]))
s.settimeout(0.25); start = time.time(); data = rest
while time.time() - start < 5:
    try: chunk = s.recv(65536)
    except (socket.timeout, TimeoutError): continue
    if not chunk: break
    data += chunk
s.sendall(frame(8, b"\x03\xe8"))
messages = []
while len(data) >= 2:
    n = data[1] & 127; at = 2
    if n == 126: n = int.from_bytes(data[2:4], "big"); at = 4
    if len(data) < at + n: break
    messages.append((data[0] & 15, data[at:at + n])); data = data[at + n:]
kinds = [p[0] for op, p in messages if op == 2 and p]
audio = b"".join(p[1:] for op, p in messages if op == 2 and p[:1] == b"\x01")
assert kinds and kinds[0] == 0, f"handshake first, got {kinds[:5]}"
assert audio.startswith(b"OggS") and b"OpusHead" in audio[:64], "Ogg Opus audio back"
print(f"ok: a conversation over wss through nginx ({kinds.count(1)} audio messages, {len(audio)} bytes)")
PY
