// The SwiftMoshi page: microphone -> Opus (WebCodecs) -> Ogg pages -> Kyutai's /api/chat
// WebSocket protocol; the reply's Ogg Opus -> WebCodecs decoder -> a playback worklet.
// Message kinds (one byte, then the payload): 0 handshake, 1 audio (Ogg bytes), 2 text,
// 5 error. The same page talks to Kyutai's own servers. Docs/PROTOCOL.md has the details.
"use strict";

const MODEL_RATE = 24000;
const PACKET_SAMPLES = 480;             // 20 ms Opus packets
const PACKETS_PER_FRAME = 4;            // the model's 80 ms frame
const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- Ogg (RFC 3533, RFC 7845)

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = (r & 0x80000000) ? ((r << 1) ^ 0x04c11db7) : (r << 1);
    table[i] = r >>> 0;
  }
  return table;
})();

function oggCRC(bytes) {
  let crc = 0;
  for (let i = 0; i < bytes.length; i++) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ bytes[i]) & 0xff]) >>> 0;
  return crc;
}

/// Writes one logical Opus stream as Ogg pages: the two header pages, then one page per packet
/// (flushed at once: the lowest latency the protocol allows).
class OggOpusMuxer {
  constructor(preSkip) {
    this.serial = (Math.random() * 0xffffffff) >>> 0;
    this.sequence = 0;
    this.granule = 0;                      // 48 kHz samples, as RFC 7845 counts them
    const head = new Uint8Array(19);
    head.set(new TextEncoder().encode("OpusHead"));
    const view = new DataView(head.buffer);
    head[8] = 1; head[9] = 1;              // version 1, mono
    view.setUint16(10, preSkip, true);
    view.setUint32(12, MODEL_RATE, true);  // input sample rate (informational)
    const vendor = new TextEncoder().encode("SwiftMoshi web");
    const tags = new Uint8Array(8 + 4 + vendor.length + 4);
    tags.set(new TextEncoder().encode("OpusTags"));
    new DataView(tags.buffer).setUint32(8, vendor.length, true);
    tags.set(vendor, 12);
    this.headers = [this.page(2, 0, [head]), this.page(0, 0, [tags])];
  }

  page(headerType, granule, packets) {
    const lacing = [];
    for (const p of packets) {
      let n = p.length;
      while (n >= 255) { lacing.push(255); n -= 255; }
      lacing.push(n);
    }
    const headerLength = 27 + lacing.length;
    const page = new Uint8Array(headerLength + packets.reduce((a, p) => a + p.length, 0));
    const view = new DataView(page.buffer);
    page.set([0x4f, 0x67, 0x67, 0x53]);
    page[5] = headerType;
    view.setBigUint64(6, BigInt(granule), true);
    view.setUint32(14, this.serial, true);
    view.setUint32(18, this.sequence++, true);
    page[26] = lacing.length;
    page.set(lacing, 27);
    let offset = headerLength;
    for (const p of packets) { page.set(p, offset); offset += p.length; }
    view.setUint32(22, oggCRC(page), true);
    return page;
  }

  /// One Opus packet of `samples48k` samples (at 48 kHz) as its own page.
  packet(bytes, samples48k) {
    this.granule += samples48k;
    return this.page(0, this.granule, [bytes]);
  }
}

/// Reads Ogg pages from a byte stream in arbitrary pieces and returns the packets of the first
/// logical stream, the two header packets skipped.
class OggOpusDemuxer {
  constructor() { this.buffer = new Uint8Array(0); this.partial = null; this.headers = 0; }

  push(bytes) {
    const joined = new Uint8Array(this.buffer.length + bytes.length);
    joined.set(this.buffer); joined.set(bytes, this.buffer.length);
    const packets = [];
    let at = 0;
    while (joined.length - at >= 27) {
      if (joined[at] !== 0x4f || joined[at + 1] !== 0x67 || joined[at + 2] !== 0x67 || joined[at + 3] !== 0x53) { at++; continue; }
      const segments = joined[at + 26];
      if (joined.length - at < 27 + segments) break;
      const lacing = joined.subarray(at + 27, at + 27 + segments);
      const bodyLength = lacing.reduce((a, b) => a + b, 0);
      if (joined.length - at < 27 + segments + bodyLength) break;
      let offset = at + 27 + segments;
      for (const l of lacing) {
        const piece = joined.subarray(offset, offset + l);
        offset += l;
        this.partial = this.partial ? concat(this.partial, piece) : piece.slice();
        if (l < 255) {
          if (this.headers < 2) this.headers++; else packets.push(this.partial);
          this.partial = null;
        }
      }
      at = offset;
    }
    this.buffer = joined.slice(at);
    return packets;
  }
}

function concat(a, b) { const c = new Uint8Array(a.length + b.length); c.set(a); c.set(b, a.length); return c; }

// ---------------------------------------------------------------- the session

const stats = { status: "idle", framesSent: 0, framesReceived: 0, bytesReceived: 0, samplesReceived: 0,
                replyLagMs: null, replyLagP50Ms: null, bufferedMs: 0, underflows: 0, text: "", error: null };
window.moshiStats = stats;   // read by tests through the DevTools protocol

class Session {
  constructor(url) {
    this.url = url;
    this.frameSentAt = [];       // performance.now() when input frame k was complete and sent
    this.replyDelayFrames = 1;   // reply j answers input frame j + this (a Metadata message may say)
    this.lags = [];
    this.receivedSamples = 0;
    this.timestamp = 0;
    this.packetsSent = 0;
    this.closed = false;
  }

  async start() {
    if (!("AudioEncoder" in window) || !("AudioDecoder" in window)) {
      throw new Error("this browser lacks WebCodecs (AudioEncoder / AudioDecoder): use a recent Chrome, Edge or Firefox");
    }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error("the microphone needs a secure page: open it on localhost or over https (moshi serve --tls-self-signed)");
    }
    setStatus("asking for the microphone");
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
    } catch (e) {
      throw new Error(`the microphone was refused (${e.name}): allow it for this page and connect again`);
    }
    try { this.context = new AudioContext({ sampleRate: MODEL_RATE, latencyHint: "interactive" }); }
    catch { this.context = new AudioContext({ latencyHint: "interactive" }); }
    await this.context.audioWorklet.addModule("worklets.js");
    this.capture = new AudioWorkletNode(this.context, "moshi-capture");
    this.playback = new AudioWorkletNode(this.context, "moshi-playback",
      { outputChannelCount: [1], processorOptions: { startMs: 90, maxMs: 250 } });
    this.playback.connect(this.context.destination);
    this.playback.port.onmessage = (e) => {
      stats.bufferedMs = e.data.bufferedMs; stats.underflows = e.data.underflows; render();
    };
    // Until the handshake the microphone only moves the meter: audio from before the model was
    // ready is dropped, not sent in a burst (the server refuses input far ahead of real time).
    this.capture.port.onmessage = (e) => this.encode(e.data);
    this.context.createMediaStreamSource(this.stream).connect(this.capture);
    await this.context.resume();

    this.encoder = new AudioEncoder({
      output: (chunk) => this.sendPacket(chunk),
      error: (e) => this.fail(`Opus encoder: ${e.message}`) });
    this.encoder.configure({ codec: "opus", sampleRate: MODEL_RATE, numberOfChannels: 1, bitrate: 32000,
                             opus: { frameDuration: 20000, complexity: 5 } });
    this.decoder = new AudioDecoder({
      output: (data) => this.play(data),
      error: (e) => this.fail(`Opus decoder: ${e.message}`) });
    this.decoder.configure({ codec: "opus", sampleRate: 48000, numberOfChannels: 1 });
    this.demuxer = new OggOpusDemuxer();
    this.muxer = new OggOpusMuxer(312);

    setStatus("connecting");
    this.socket = new WebSocket(this.url);
    this.socket.binaryType = "arraybuffer";
    this.socket.onmessage = (e) => this.receive(new Uint8Array(e.data));
    this.socket.onerror = () => this.fail("the connection failed");
    this.socket.onclose = (e) => {
      if (!this.closed) this.stop(stats.error ? null : `the server closed the connection${e.reason ? ": " + e.reason : ""}`);
    };
  }

  receive(message) {
    if (message.length === 0) return;
    const kind = message[0], payload = message.subarray(1);
    if (kind === 0) {                                   // handshake: the model is ready
      setStatus("talking");
      this.socket.send(concat(new Uint8Array([1]), concat(this.muxer.headers[0], this.muxer.headers[1])));
      this.talking = true;
    } else if (kind === 1) {
      stats.bytesReceived += payload.length;
      for (const packet of this.demuxer.push(payload)) {
        this.decoder.decode(new EncodedAudioChunk({ type: "key", timestamp: 0, data: packet }));
      }
    } else if (kind === 2) {
      stats.text += new TextDecoder().decode(payload);
      $("transcript").textContent = stats.text;
      $("transcript").scrollTop = $("transcript").scrollHeight;
    } else if (kind === 4) {                            // metadata (JSON)
      try {
        const info = JSON.parse(new TextDecoder().decode(payload));
        if (Number.isInteger(info.reply_delay_frames)) this.replyDelayFrames = info.reply_delay_frames;
      } catch {}
    } else if (kind === 5) {
      this.fail(`server: ${new TextDecoder().decode(payload)}`);
    }
  }

  encode({ samples, rms }) {
    $("meter").firstElementChild.style.width = `${Math.min(100, Math.sqrt(rms) * 180)}%`;
    if (!this.talking || !this.encoder || this.encoder.state !== "configured") return;
    const data = new AudioData({ format: "f32", sampleRate: MODEL_RATE, numberOfFrames: samples.length,
                                 numberOfChannels: 1, timestamp: this.timestamp, data: samples });
    this.timestamp += samples.length * 1e6 / MODEL_RATE;
    this.encoder.encode(data);
    data.close();
  }

  sendPacket(chunk) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return;
    const bytes = new Uint8Array(chunk.byteLength);
    chunk.copyTo(bytes);
    const samples48k = Math.round((chunk.duration || 20000) * 48000 / 1e6);
    this.socket.send(concat(new Uint8Array([1]), this.muxer.packet(bytes, samples48k)));
    if (++this.packetsSent % PACKETS_PER_FRAME === 0) {
      this.frameSentAt.push(performance.now());
      stats.framesSent = this.frameSentAt.length;
    }
  }

  /// Decoded reply audio to the playback worklet; each completed 80 ms frame of reply gives
  /// one reply-lag sample: now minus when the input frame that produced it was sent. The
  /// server answers input frame j + d with reply frame j: Moshi's first frame yields nothing
  /// (d = 1); SwiftMoshi's server says its d in a Metadata message (`reply_delay_frames`).
  play(data) {
    const n = data.numberOfFrames;
    let samples = new Float32Array(n);
    data.copyTo(samples, { planeIndex: 0, format: "f32-planar" });
    if (data.sampleRate !== MODEL_RATE) samples = resample(samples, data.sampleRate, MODEL_RATE);
    data.close();
    const before = Math.floor(this.receivedSamples / 1920);
    this.receivedSamples += samples.length;
    this.playback.port.postMessage(samples, [samples.buffer]);
    const after = Math.floor(this.receivedSamples / 1920);
    const now = performance.now();
    for (let frame = before; frame < after; frame++) {
      const sent = this.frameSentAt[frame + this.replyDelayFrames];
      if (sent !== undefined) {
        const lag = now - sent;
        this.lags.push(lag);
        if (this.lags.length > 50) this.lags.shift();
        stats.replyLagMs = Math.round(lag);
        stats.replyLagP50Ms = Math.round([...this.lags].sort((a, b) => a - b)[Math.floor(this.lags.length / 2)]);
      }
    }
    stats.framesReceived = after;
    stats.samplesReceived = this.receivedSamples;
    render();
  }

  fail(reason) { stats.error = reason; this.stop(reason); }

  stop(reason) {
    if (this.closed) return;
    this.closed = true;
    try { this.socket && this.socket.close(); } catch {}
    try { this.encoder && this.encoder.state !== "closed" && this.encoder.close(); } catch {}
    try { this.decoder && this.decoder.state !== "closed" && this.decoder.close(); } catch {}
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    if (this.context) this.context.close();
    $("meter").firstElementChild.style.width = "0";
    setStatus(reason || "disconnected", !!reason && !!stats.error);
    setButton(false);
  }
}

function resample(input, from, to) {
  const n = Math.floor(input.length * to / from), out = new Float32Array(n), step = from / to;
  for (let i = 0; i < n; i++) {
    const p = i * step, j = Math.floor(p), f = p - j;
    out[i] = input[j] + ((j + 1 < input.length ? input[j + 1] : input[j]) - input[j]) * f;
  }
  return out;
}

// ---------------------------------------------------------------- the page

let session = null;

function setStatus(text, isError = false) {
  stats.status = text;
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

function setButton(connected) {
  $("connect").textContent = connected ? "Disconnect" : "Connect";
  $("connect").className = connected ? "stop" : "";
}

function render() {
  $("lag").textContent = stats.replyLagP50Ms === null ? "–" : `${stats.replyLagP50Ms}`;
  $("sent").textContent = stats.framesSent;
  $("received").textContent = stats.framesReceived;
  $("buffered").textContent = Math.round(stats.bufferedMs);
}

/// The WebSocket address with the session options as query parameters (Kyutai's names).
function chatURL() {
  const base = $("url").value.trim() || `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/chat`;
  const params = new URLSearchParams();
  for (const key of ["text_temperature", "text_topk", "audio_temperature", "audio_topk"]) {
    if ($(key).value !== "") params.set(key, $(key).value);
  }
  if ($("seed").value !== "") { params.set("audio_seed", $("seed").value); params.set("text_seed", $("seed").value); }
  // The server's token (server.auth_token), passed on from the page's own address: /?token=...
  const token = new URLSearchParams(location.search).get("token");
  if (token) params.set("token", token);
  return `${base}${base.includes("?") ? "&" : "?"}${params}`;
}

async function toggle() {
  if (session && !session.closed) { session.stop(null); return; }
  Object.assign(stats, { framesSent: 0, framesReceived: 0, bytesReceived: 0, samplesReceived: 0, replyLagMs: null,
                         replyLagP50Ms: null, text: "", error: null });
  $("transcript").textContent = "";
  render();
  session = new Session(chatURL());
  setButton(true);
  try { await session.start(); } catch (e) { session.fail(e.message); }
}

$("connect").addEventListener("click", toggle);
const query = new URLSearchParams(location.search);
for (const key of ["text_temperature", "text_topk", "audio_temperature", "audio_topk", "seed", "url"]) {
  if (query.has(key)) $(key).value = query.get(key);
}
if (!("AudioEncoder" in window) || !("AudioDecoder" in window)) {
  setStatus("this browser lacks WebCodecs (AudioEncoder / AudioDecoder): use a recent Chrome, Edge or Firefox", true);
} else if (query.get("autostart") === "1") {
  toggle();
}
