// The live stream (docs/websocket.md): one websocket, authenticated by the session cookie. It remembers
// each channel's last seq, drops duplicates, reconnects with jittered backoff and resumes with ?resume=1
// and a `resume` frame, so nothing is missed or shown twice across drops, sleeps and server restarts.

const PING_EVERY_MS = 25000;
const PONG_WITHIN_MS = 10000;
const STABLE_AFTER_MS = 10000;

export class Live {
  constructor(handlers) {
    this.handlers = handlers; // onReady(data, resumed), onEvent(frame), onLive(replay), onStatus(s), onSignedOut()
    this.seqs = new Map();
    this.pending = new Map();
    this.refs = 0;
    this.attempt = 0;
    this.ws = null;
    this.status = 'connecting';
    this.started = false;
    this.stopped = false;
    this.timer = null;
    window.addEventListener('online', () => this.reconnectNow());
    window.addEventListener('offline', () => this.drop('offline'));
  }

  setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.handlers.onStatus(status);
  }

  connect() {
    clearTimeout(this.timer);
    if (this.stopped) return;
    if (!navigator.onLine) {
      this.setStatus('offline');
      return;
    }
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const resume = this.started ? '?resume=1' : '';
    const ws = new WebSocket(`${scheme}//${location.host}/websocket/client${resume}`);
    this.ws = ws;
    ws.onmessage = (e) => this.receive(ws, e.data);
    ws.onclose = (e) => this.closed(ws, e.code);
    ws.onerror = () => {};
  }

  reconnectNow() {
    this.attempt = 0;
    if (!this.ws || this.ws.readyState > 1) this.connect();
  }

  drop(status) {
    if (this.ws) {
      const ws = this.ws;
      this.closed(ws, 1006);
      ws.close();
    }
    this.setStatus(status);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000);
  }

  closed(ws, code) {
    if (ws !== this.ws) return;
    this.ws = null;
    clearInterval(this.pinger);
    clearTimeout(this.stable);
    for (const { reject } of this.pending.values()) reject(Object.assign(new Error('disconnected'), { code: 'disconnected' }));
    this.pending.clear();
    if (this.stopped) return;
    if (code === 4401) {
      this.stopped = true;
      this.handlers.onSignedOut();
      return;
    }
    if (code === 1008) {
      this.stopped = true;
      this.setStatus('refused');
      return;
    }
    this.setStatus(navigator.onLine ? 'reconnecting' : 'offline');
    const delay = Math.min(10000, 500 * 2 ** this.attempt++);
    this.timer = setTimeout(() => this.connect(), delay / 2 + Math.random() * (delay / 2));
  }

  receive(ws, text) {
    if (ws !== this.ws) return;
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    const { type } = frame;
    if (type === 'ready') return this.ready(ws, frame.data);
    if (frame.ref !== undefined && frame.ref !== null && this.pending.has(frame.ref)) {
      if (type === 'ack' || type === 'error' || type === 'pong' || type === 'replay_done') {
        const { resolve, reject } = this.pending.get(frame.ref);
        this.pending.delete(frame.ref);
        if (type === 'error') reject(Object.assign(new Error(frame.error.message), frame.error));
        else resolve(type === 'ack' ? frame.data : frame);
        if (type !== 'replay_done') return;
      }
    }
    if (type === 'replay_done') return this.replayed(frame.data);
    const channel = frame.channel_id;
    if (type === 'channel' && frame.event === 'VISIBLE') {
      this.seqs.set(channel, frame.data.seq);
    } else if (type === 'channel' && frame.event === 'HIDDEN') {
      this.seqs.delete(channel);
    } else if (channel && typeof frame.seq === 'number') {
      if (frame.seq <= (this.seqs.get(channel) ?? -1)) return; // already processed: a duplicate
      this.seqs.set(channel, frame.seq);
    }
    this.handlers.onEvent(frame);
  }

  ready(ws, data) {
    const resumed = this.started;
    const known = new Map(this.seqs);
    if (!resumed) this.seqs.clear();
    for (const channel of data.channels) {
      if (!this.seqs.has(channel.id)) this.seqs.set(channel.id, channel.seq);
    }
    this.started = true;
    this.handlers.onReady(data, resumed);
    this.pinger = setInterval(() => this.ping(ws), PING_EVERY_MS);
    this.stable = setTimeout(() => (this.attempt = 0), STABLE_AFTER_MS);
    if (resumed) {
      const channels = {};
      for (const [id, seq] of known) channels[id] = seq;
      this.request({ type: 'resume', channels }).catch(() => {});
    } else {
      this.replayed(null);
    }
  }

  replayed(data) {
    if (data) {
      for (const [id, seq] of Object.entries(data.seqs || {})) this.seqs.set(id, seq);
      for (const id of data.lost || []) this.seqs.delete(id);
    }
    this.setStatus('online');
    this.handlers.onLive(data);
  }

  ping(ws) {
    const answered = this.request({ type: 'ping' });
    const timer = setTimeout(() => {
      if (ws === this.ws) this.drop('reconnecting');
    }, PONG_WITHIN_MS);
    answered.then(() => clearTimeout(timer), () => clearTimeout(timer));
  }

  get online() {
    return this.status === 'online' && this.ws && this.ws.readyState === 1;
  }

  // One request; resolves with the ack's data, rejects with the error (or `disconnected`).
  request(frame) {
    if (!this.ws || this.ws.readyState !== 1) {
      return Promise.reject(Object.assign(new Error('not connected'), { code: 'disconnected' }));
    }
    const ref = `r${++this.refs}`;
    return new Promise((resolve, reject) => {
      this.pending.set(ref, { resolve, reject });
      this.ws.send(JSON.stringify({ ...frame, ref }));
    });
  }
}
