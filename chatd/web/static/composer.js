// The message box: Enter sends, Shift+Enter starts a new line, Up (in an empty box) edits the last own
// message. What is typed is kept as a draft of its channel or thread until it is sent (state.js), and Esc
// never deletes it. Files come by the picker, by paste and by drag-and-drop, shown in a tray with image
// previews before they are sent.

import * as actions from './actions.js';
import { formatSize, h, icon } from './dom.js';
import { MentionPicker } from './mentions.js';
import { Recorder, canRecord } from './recorder.js';
import { loadDraft, saveDraft, state, typingPlace } from './state.js';

export class Composer {
  constructor({ channelId, rootId = null, placeholder, onEditLast }) {
    this.channelId = channelId;
    this.rootId = rootId;
    this.onEditLast = onEditLast;
    this.files = [];
    // dir="auto": typed Arabic or Hebrew runs right to left from its first letter, as the sent message will.
    this.input = h('textarea', { class: 'composer-input', rows: '1', dir: 'auto', placeholder, 'aria-label': placeholder });
    this.picker = h('input', { type: 'file', multiple: true, class: 'hidden', 'aria-label': 'Attach files' });
    this.tray = h('div', { class: 'tray' });
    this.error = h('div', { class: 'composer-error', role: 'alert' });
    this.sendButton = h('button', { class: 'send', title: 'Send (Enter)', 'aria-label': 'Send', onclick: () => this.submit() }, icon('send'));
    this.mentions = new MentionPicker(this.input, channelId);
    this.recorder = new Recorder({ onTick: (seconds) => this.recording(seconds), onDone: (file) => this.recorded(file) });
    this.recClock = h('span', { class: 'rec-time', 'aria-hidden': 'true' });
    this.micButton = canRecord()
      ? h('button', { class: 'tool mic', title: 'Record a voice note', 'aria-label': 'Record a voice note', 'aria-pressed': 'false', onclick: () => this.toggleRecording() }, icon('mic'), this.recClock)
      : null;
    this.el = h(
      'div',
      { class: 'composer' },
      this.mentions.el,
      this.tray,
      h('div', { class: 'composer-box' },
        this.input,
        h('div', { class: 'composer-tools' },
          h('button', { class: 'tool', title: 'Attach files', 'aria-label': 'Attach files', onclick: () => this.picker.click() }, icon('clip')),
          this.micButton,
          h('span', { class: 'hint' }, h('b', null, 'Enter'), ' to send, ', h('b', null, 'Shift+Enter'), ' for a new line'),
          this.sendButton)),
      this.error,
      this.picker,
    );
    this.input.value = loadDraft(channelId, rootId);
    if (this.input.value) requestAnimationFrame(() => this.autosize());  // once the box is on the page
    this.input.addEventListener('keydown', (e) => this.keydown(e));
    this.input.addEventListener('input', () => {
      this.autosize();
      saveDraft(this.channelId, this.rootId, this.input.value);
      if (this.input.value.trim()) this.typing();
    });
    this.input.addEventListener('paste', (e) => {
      const files = [...(e.clipboardData ? e.clipboardData.files : [])];
      if (files.length) {
        e.preventDefault();
        this.addFiles(files);
      }
    });
    this.picker.addEventListener('change', () => {
      this.addFiles([...this.picker.files]);
      this.picker.value = '';
    });
  }

  focus() {
    this.input.focus();
  }

  // Someone types in this box: the channel's own, or a thread's (`actions.typing`).
  typing() {
    actions.typing(this.channelId, this.rootId);
  }

  // The view around the box is going: a recording in progress ends with it, dropped (the microphone must
  // never stay on behind a channel the person left).
  destroy() {
    if (this.recorder.recording) this.recorder.cancel();
  }

  async toggleRecording() {
    if (this.recorder.recording) return this.recorder.stop();
    this.error.textContent = '';
    let started;
    try {
      started = await this.recorder.start();
    } catch {
      this.error.textContent = 'The microphone is not available: allow it for this page in the browser, or check that one is connected.';
      return null;
    }
    if (!started) return null;
    this.micButton.classList.add('on');
    this.micButton.setAttribute('aria-pressed', 'true');
    this.error.textContent = 'Recording a voice note: click the microphone to stop it, Esc to throw it away.';  // said once
    this.input.focus();  // so that Esc reaches the box
    return null;
  }

  recording(seconds) {
    // The time is shown by the button (not in the announced line: a screen reader would speak every second).
    const time = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
    this.recClock.textContent = time;
    this.micButton.title = `Stop recording (${time})`;
    this.micButton.setAttribute('aria-label', 'Stop recording');
  }

  recorded(file) {
    this.micButton.classList.remove('on');
    this.micButton.setAttribute('aria-pressed', 'false');
    this.micButton.title = 'Record a voice note';
    this.micButton.setAttribute('aria-label', 'Record a voice note');
    this.recClock.textContent = '';
    this.error.textContent = '';
    if (file) this.addFiles([file]);
    this.input.focus();
  }

  autosize() {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, 240)}px`;
  }

  keydown(e) {
    if (!e.isComposing && this.mentions.keydown(e)) return;  // choosing whom to mention
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      this.submit();
    } else if (e.key === 'ArrowUp' && !this.input.value && !this.files.length) {
      if (this.onEditLast && this.onEditLast()) e.preventDefault();
    } else if (e.key === 'Escape' && this.recorder.recording) {
      e.preventDefault();  // the note is thrown away; the draft stays
      this.recorder.cancel();
    } else if (e.key === 'Escape' && (this.input.value || this.files.length)) {
      // Esc never deletes what was typed (there is no undo for that), and with a draft in the box it does
      // not close the thread or search panel around it either; in an empty box it goes through to close it.
      e.preventDefault();
    }
  }

  addFiles(files) {
    for (const file of files) {
      const entry = { file, url: file.type.startsWith('image/') ? URL.createObjectURL(file) : null };
      this.files.push(entry);
    }
    this.renderTray();
  }

  clearFiles() {
    for (const entry of this.files) if (entry.url) URL.revokeObjectURL(entry.url);
    this.files = [];
    this.renderTray();
  }

  renderTray() {
    this.tray.replaceChildren(
      ...this.files.map((entry, index) =>
        h('div', { class: 'tray-item' },
          entry.url ? h('img', { src: entry.url, alt: entry.file.name }) : h('div', { class: 'tray-file', title: entry.file.name }, icon('file'), h('span', null, entry.file.name)),
          h('span', { class: 'tray-size' }, formatSize(entry.file.size)),
          h('button', { class: 'tray-remove', title: 'Remove', 'aria-label': `Remove ${entry.file.name}`, onclick: () => {
            if (entry.url) URL.revokeObjectURL(entry.url);
            this.files.splice(index, 1);
            this.error.textContent = '';
            this.renderTray();
          } }, '×'))),
    );
  }

  async submit() {
    const contents = this.input.value.trim();
    if (!contents && !this.files.length) return;
    if (this.uploading) return; // a second Enter while files go up would upload and post them twice
    this.error.textContent = '';
    let fileIds = [];
    if (this.files.length) {
      this.sendButton.disabled = true;
      this.uploading = true;
      this.el.classList.add('uploading');
      this.error.textContent = this.files.length === 1 ? `Uploading “${this.files[0].file.name}”…` : `Uploading ${this.files.length} files…`;
      let entry = null;
      try {
        const stored = [];
        for (entry of this.files) stored.push(await actions.upload(entry.file));
        fileIds = stored.map((f) => f.id);
      } catch (err) {
        this.error.textContent = uploadProblem(entry.file, err);
        return;
      } finally {
        this.sendButton.disabled = false;
        this.uploading = false;
        this.el.classList.remove('uploading');
      }
      this.error.textContent = '';
      this.clearFiles();
    }
    this.input.value = '';
    saveDraft(this.channelId, this.rootId, '');
    this.autosize();
    actions.send(this.channelId, contents, { replyTo: this.rootId, fileIds });
  }

  setDisabled(reason) {
    this.el.classList.toggle('disabled', Boolean(reason));
    this.input.disabled = Boolean(reason);
    this.input.placeholder = reason || this.input.getAttribute('aria-label');
  }
}

// What to tell someone whose upload failed: waiting helps only when the server could not be reached (or was
// busy); a file that is too large or refused must be removed from the tray, so say which one and why.
function uploadProblem(file, err) {
  if (err.status === 0 || err.status === 503) return `Upload failed: ${err.message}. The files are kept; send again when the connection is back.`;
  if (err.status === 429) return `Upload failed: too many requests. The files are kept; send again in a moment.`;
  if (err.status === 413) return `“${file.name}” is too large to upload: ${err.message}. Remove it to send the rest.`;
  return `“${file.name}” could not be uploaded: ${err.message}. Remove it to send the rest.`;
}

// Dropping files anywhere on `area` hands them to the composer.
export function acceptDrops(area, composer) {
  let depth = 0;
  area.addEventListener('dragenter', (e) => {
    if (![...e.dataTransfer.types].includes('Files')) return;
    depth++;
    area.classList.add('dropping');
  });
  area.addEventListener('dragleave', () => {
    if (--depth <= 0) {
      depth = 0;
      area.classList.remove('dropping');
    }
  });
  area.addEventListener('dragover', (e) => {
    if ([...e.dataTransfer.types].includes('Files')) e.preventDefault();
  });
  area.addEventListener('drop', (e) => {
    depth = 0;
    area.classList.remove('dropping');
    if (!e.dataTransfer.files.length) return;
    e.preventDefault();
    composer.addFiles([...e.dataTransfer.files]);
    composer.focus();
  });
}

// Who is typing in a channel's own box, or (rootId) in that thread's: each shows under its own box only.
export function typingLine(channelId, rootId = null) {
  const typing = state.typing.get(typingPlace(channelId, rootId));
  if (!typing) return '';
  const now = Date.now();
  const names = [];
  for (const [userId, until] of typing) {
    if (until > now && userId !== state.me.id) {
      const user = state.users.get(userId);
      names.push(user ? user.display_name || user.username : 'Someone');
    }
  }
  if (!names.length) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return 'Several people are typing…';
}
