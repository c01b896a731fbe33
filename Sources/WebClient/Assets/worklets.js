// AudioWorklet processors of the SwiftMoshi page. The model speaks 24 kHz mono; the audio
// context may run at another rate (`sampleRate`, a global of this scope), so both processors
// convert with linear interpolation (a no-op when the context already runs at 24 kHz).

const MODEL_RATE = 24000;

/// Microphone -> 20 ms blocks of 480 samples at 24 kHz, posted to the page with their RMS.
class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / MODEL_RATE;   // input samples per output sample
    this.position = 0;                     // fractional read position into `history`
    this.history = new Float32Array(0);
    this.block = new Float32Array(480);
    this.filled = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    // Keep the last input sample so interpolation can straddle render quanta.
    const joined = new Float32Array(this.history.length + channel.length);
    joined.set(this.history);
    joined.set(channel, this.history.length);
    let p = this.position;
    while (p + 1 < joined.length) {
      const i = Math.floor(p), f = p - i;
      this.block[this.filled++] = joined[i] + (joined[i + 1] - joined[i]) * f;
      if (this.filled === this.block.length) {
        let sum = 0;
        for (const v of this.block) sum += v * v;
        const samples = this.block;
        this.port.postMessage({ samples, rms: Math.sqrt(sum / samples.length) }, [samples.buffer]);
        this.block = new Float32Array(480);
        this.filled = 0;
      }
      p += this.step;
    }
    const keep = Math.floor(p);
    this.history = joined.slice(keep);
    this.position = p - keep;
    return true;
  }
}

/// The model's voice: a jitter buffer of 24 kHz samples that starts playing once `startMs`
/// are buffered, drops the oldest audio above `maxMs`, and re-buffers after an underflow.
class PlaybackProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = (options && options.processorOptions) || {};
    this.capacity = MODEL_RATE * 4;
    this.ring = new Float32Array(this.capacity);
    this.read = 0;
    this.count = 0;
    this.start = Math.round(MODEL_RATE * (o.startMs || 90) / 1000);
    this.max = Math.round(MODEL_RATE * (o.maxMs || 400) / 1000);
    this.playing = false;
    this.step = MODEL_RATE / sampleRate;   // model samples per output sample
    this.position = 0;
    this.underflows = 0;
    this.dropped = 0;
    this.quanta = 0;
    this.port.onmessage = (event) => this.push(event.data);
  }

  push(samples) {
    if (samples === "reset") { this.read = 0; this.count = 0; this.playing = false; return; }
    for (let i = 0; i < samples.length; i++) {
      this.ring[(this.read + this.count) % this.capacity] = samples[i];
      if (this.count < this.capacity) this.count++; else this.read = (this.read + 1) % this.capacity;
    }
    if (this.count > this.max) {            // too far behind: drop the oldest
      const drop = this.count - this.start;
      this.read = (this.read + drop) % this.capacity;
      this.count -= drop;
      this.dropped += drop;
    }
    if (!this.playing && this.count >= this.start) this.playing = true;
  }

  process(_, outputs) {
    const out = outputs[0][0];
    if (!out) return true;
    for (let i = 0; i < out.length; i++) {
      if (!this.playing || this.count < 2) {
        if (this.playing) { this.playing = false; this.underflows++; }
        out[i] = 0;
        continue;
      }
      const a = this.ring[this.read], b = this.ring[(this.read + 1) % this.capacity];
      out[i] = a + (b - a) * this.position;
      this.position += this.step;
      while (this.position >= 1) {
        this.position -= 1;
        this.read = (this.read + 1) % this.capacity;
        this.count--;
      }
    }
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
    if (++this.quanta % 32 === 0) {
      this.port.postMessage({ bufferedMs: this.count * 1000 / MODEL_RATE, underflows: this.underflows, droppedMs: this.dropped * 1000 / MODEL_RATE });
    }
    return true;
  }
}

registerProcessor("moshi-capture", CaptureProcessor);
registerProcessor("moshi-playback", PlaybackProcessor);
