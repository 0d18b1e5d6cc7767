// Building DOM safely: every piece of data becomes a text node or an attribute value, never markup.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
      else if (key === 'text') el.textContent = value;
      else if (value === true) el.setAttribute(key, '');
      else el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function icon(name) {
  return h('span', { class: `icon icon-${name}`, 'aria-hidden': 'true' });
}

const COLOURS = ['#e01e5a', '#2eb67d', '#ecb22e', '#36c5f0', '#4a154b', '#1264a3', '#e8912d', '#7c3085', '#0b4c8c', '#2a7e6c'];

export function colourOf(key) {
  let n = 0;
  for (const c of String(key)) n = (n * 31 + c.charCodeAt(0)) >>> 0;
  return COLOURS[n % COLOURS.length];
}

// The initials of a name's first and last words, for avatars and organisations' squares. Only words that
// start with a letter or digit count, so punctuation never shows ("Beta <i>Org</i>" is "B", "Acme (EU)" is
// "A"); a name with no such word shows its first letter or digit, else "?".
const WORD_START = /^[\p{L}\p{N}]/u;

export function initials(name) {
  const text = String(name || '').trim();
  const words = text.split(/[\s._-]+/).filter((w) => WORD_START.test(w));
  if (!words.length) return (text.match(/[\p{L}\p{N}]/u) || ['?'])[0].toUpperCase();
  const first = (word) => [...word][0]; // a whole character, even one outside the BMP
  return (first(words[0]) + (words.length > 1 ? first(words[words.length - 1]) : '')).toUpperCase();
}

export function avatar(user, size = 'md') {
  const name = user ? (user.display_name || user.username) : '?';
  const el = h('span', { class: `avatar avatar-${size}`, 'aria-hidden': 'true' }, initials(name));
  el.style.backgroundColor = colourOf(user ? user.id : '?');
  return el;
}

// Ids are 64-bit integers as strings: compare by length, then lexically (no precision lost).
export function cmpId(a, b) {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export const formatTime = (iso) => timeFmt.format(new Date(iso));
export const formatFull = (iso) => fullFmt.format(new Date(iso));

export function dayLabel(iso) {
  const d = new Date(iso);
  const today = new Date();
  const yesterday = new Date(Date.now() - 86400000);
  if (d.toDateString() === today.toDateString()) return 'Today';
  if (d.toDateString() === yesterday.toDateString()) return 'Yesterday';
  return dayFmt.format(d);
}

// When, in a list of things from any day (search results, pins): "Today at 9:41 AM", as people say it.
export function formatWhen(iso) {
  const day = dayLabel(iso);
  return day === 'Today' || day === 'Yesterday' ? `${day} at ${formatTime(iso)}` : formatFull(iso);
}

export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
