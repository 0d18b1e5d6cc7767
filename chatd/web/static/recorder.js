// A voice note from the composer's microphone button: recorded in the browser (MediaRecorder, WebM with Opus
// where the browser has it) and put in the tray as a file, to go with the next message like any other; the
// server sniffs it as audio, and every client plays it in the message. Only on pages that can ask for the
// microphone (HTTPS or localhost); the browser asks the person the first time.

const LONGEST_MS = 5 * 60_000;  // a voice note, not a podcast: stopped by itself after five minutes

export function canRecord() {
  return Boolean(window.isSecureContext && navigator.mediaDevices && window.MediaRecorder);
}

function stamp(date) {
  const two = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ${two(date.getHours())}.${two(date.getMinutes())}.${two(date.getSeconds())}`;
}

export class Recorder {
  // `onTick(seconds)` while recording; `onDone(file)` with the note, or `onDone(null)` when cancelled.
  constructor({ onTick, onDone }) {
    this.onTick = onTick;
    this.onDone = onDone;
    this.media = null;
    this.starting = false;
  }

  // Recording, or waiting for the browser's answer about the microphone: either way, a click stops it.
  get recording() {
    return this.media !== null || this.starting;
  }

  // Resolves once recording (true), or when it never began (false: cancelled while the browser asked).
  // Rejects when the microphone is refused or missing.
  async start() {
    if (this.recording) return false;
    this.starting = true;
    this.cancelled = false;
    let stream = null;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      if (this.cancelled) throw new Error('cancelled');  // the box went away (or Esc) while the browser asked
      this.begin(stream);
      return true;
    } catch (err) {
      if (stream) for (const track of stream.getTracks()) track.stop();  // never a microphone left on
      if (this.cancelled) return false;
      throw err;
    } finally {
      this.starting = false;
    }
  }

  begin(stream) {
    const type = MediaRecorder.isTypeSupported('audio/webm;codecs=opus') ? 'audio/webm;codecs=opus' : '';
    const media = new MediaRecorder(stream, type ? { mimeType: type } : {});
    const parts = [];
    const started = new Date();
    media.addEventListener('dataavailable', (e) => { if (e.data.size) parts.push(e.data); });
    media.addEventListener('stop', () => {
      for (const track of stream.getTracks()) track.stop();
      clearInterval(this.ticker);
      clearTimeout(this.limit);
      this.media = null;
      if (this.cancelled || !parts.length) return this.onDone(null);
      const kind = (media.mimeType || 'audio/webm').split(';')[0];
      const extension = kind.includes('mp4') ? 'm4a' : kind.includes('ogg') ? 'ogg' : 'webm';
      return this.onDone(new File(parts, `Voice note ${stamp(started)}.${extension}`, { type: kind }));
    });
    media.start(250);
    this.media = media;
    this.ticker = setInterval(() => this.onTick(Math.floor((Date.now() - started) / 1000)), 250);
    this.limit = setTimeout(() => this.stop(), LONGEST_MS);
    this.onTick(0);
  }

  stop() {
    if (this.starting && !this.media) this.cancelled = true;  // clicked again while the browser asks: no note
    else if (this.media && this.media.state !== 'inactive') this.media.stop();
  }

  cancel() {
    this.cancelled = true;  // also a start still waiting for the browser: it stops the stream it gets
    this.stop();
  }
}
