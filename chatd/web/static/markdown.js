// A small Markdown renderer that only ever creates a fixed set of elements from text nodes:
// p, br, strong, em, del, code, pre, blockquote, ul, ol, li, a (http, https and mailto only) and
// span.mention and span.emoji (a known :shortcode:). Message text is never parsed as HTML, so it cannot run script whatever it contains.
// Each block of text (paragraph, quote, list, item) takes its direction from its own first strong character
// (dir="auto"): Arabic or Hebrew reads right to left, right-aligned, while English beside it stays as it was.

import { isRouteLink } from './address.js';
import { SHORTCODES } from './emoji.js';

const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);

const INLINE = new RegExp(
  [
    '(`+)([^`]|[^`][\\s\\S]*?[^`])\\1(?!`)', // 1,2: code span
    '\\[([^\\]\\n]+)\\]\\(([^)\\s]+)\\)', // 3,4: [text](url)
    '((?:https?:\\/\\/|mailto:)[^\\s<>"]*[^\\s<>".,:;!?\'")\\]])', // 5: bare link
    '(\\*\\*|__)(?=\\S)([\\s\\S]*?\\S)\\6', // 6,7: strong
    '~~(?=\\S)([\\s\\S]*?\\S)~~', // 8: strike
    '(?<![\\w*])\\*(?=[^\\s*])([^*\\n]*?[^\\s*])\\*(?![\\w*])', // 9: *em*
    '(?<![\\w_])_(?=[^\\s_])([^_\\n]*?[^\\s_])_(?![\\w_])', // 10: _em_
    '(?<![\\w@.])@([A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9_-]|[A-Za-z0-9])', // 11: @mention
    '(?<![\\w:]):([a-z0-9_+-]{1,32}):(?![\\w:])', // 12: :shortcode:
  ].join('|'),
  'g',
);

// Absolute http(s) and mailto URLs only: a relative link would point into chatd itself, with the reader's
// cookie, to wherever its author chose.
export function safeHref(href) {
  try {
    const url = new URL(href);
    return SAFE_PROTOCOLS.has(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

function link(href, label, options) {
  const safe = safeHref(href);
  if (!safe) return null;
  const a = document.createElement('a');
  a.href = safe;
  // A link to a message or channel of this very client (a copied message link) opens here, as a jump;
  // every other link opens in a new tab, with no handle on this page.
  if (!isRouteLink(safe)) a.target = '_blank';
  a.rel = 'noopener noreferrer nofollow';
  a.append(...(typeof label === 'string' ? [document.createTextNode(label)] : inline(label[0], options)));
  return a;
}

function wrap(tag, text, options) {
  const el = document.createElement(tag);
  el.append(...inline(text, options));
  return el;
}

export function inline(text, options = {}) {
  const out = [];
  let last = 0;
  const re = new RegExp(INLINE); // its own lastIndex: rendering is recursive (bold inside a link …)
  let m;
  while ((m = re.exec(text)) !== null) {
    let node = null;
    if (m[1] !== undefined) {
      node = document.createElement('code');
      node.textContent = m[2];
    } else if (m[3] !== undefined) {
      node = link(m[4], [m[3]], options);
    } else if (m[5] !== undefined) {
      node = link(m[5], m[5], options);
    } else if (m[6] !== undefined) {
      node = wrap('strong', m[7], options);
    } else if (m[8] !== undefined) {
      node = wrap('del', m[8], options);
    } else if (m[9] !== undefined || m[10] !== undefined) {
      node = wrap('em', m[9] ?? m[10], options);
    } else if (m[11] !== undefined) {
      const name = m[11];
      const known = options.isUser ? options.isUser(name) : true;
      if (known) {
        node = document.createElement('span');
        node.className = 'mention' + (options.me && name.toLowerCase() === options.me.toLowerCase() ? ' mention-me' : '');
        node.textContent = '@' + name;
      }
    } else if (m[12] !== undefined && SHORTCODES.has(m[12])) {
      node = document.createElement('span');
      node.className = 'emoji';
      node.title = `:${m[12]}:`;
      node.textContent = SHORTCODES.get(m[12]);
    }
    if (node === null) continue; // not ours after all (an unsafe link, an unknown name): stays text
    if (m.index > last) out.push(document.createTextNode(text.slice(last, m.index)));
    out.push(node);
    last = re.lastIndex;
  }
  if (last < text.length) out.push(document.createTextNode(text.slice(last)));
  return out;
}

function lines(text, options) {
  const out = [];
  text.split('\n').forEach((line, i) => {
    if (i) out.push(document.createElement('br'));
    out.push(...inline(line, options));
  });
  return out;
}

const BULLET = /^\s*[-*+]\s+(.*)$/;
const NUMBER = /^\s*\d{1,9}[.)]\s+(.*)$/;
const FENCE = /^\s*```/;
const QUOTE = /^\s*>\s?(.*)$/;

function block(tag) {
  const el = document.createElement(tag);
  el.dir = 'auto';
  return el;
}

export function render(text, options = {}) {
  const root = document.createDocumentFragment();
  const src = String(text).replace(/\r\n?/g, '\n').split('\n');
  let para = [];
  const flush = () => {
    if (!para.length) return;
    const p = block('p');
    p.append(...lines(para.join('\n'), options));
    root.append(p);
    para = [];
  };
  for (let i = 0; i < src.length; i++) {
    const line = src[i];
    if (FENCE.test(line)) {
      flush();
      const body = [];
      let j = i + 1;
      while (j < src.length && !FENCE.test(src[j])) body.push(src[j++]);
      const pre = document.createElement('pre');
      const code = document.createElement('code');
      code.textContent = body.join('\n');
      pre.append(code);
      root.append(pre);
      i = j; // the closing fence (or the end)
    } else if (QUOTE.test(line)) {
      flush();
      const body = [];
      while (i < src.length && QUOTE.test(src[i])) body.push(QUOTE.exec(src[i++])[1]);
      i--;
      const quote = block('blockquote');
      quote.append(render(body.join('\n'), options));
      root.append(quote);
    } else if (BULLET.test(line) || NUMBER.test(line)) {
      flush();
      const ordered = !BULLET.test(line);
      const pattern = ordered ? NUMBER : BULLET;
      const list = block(ordered ? 'ol' : 'ul');
      while (i < src.length && pattern.test(src[i])) {
        const li = block('li');
        li.append(...inline(pattern.exec(src[i++])[1], options));
        list.append(li);
      }
      i--;
      root.append(list);
    } else if (line.trim() === '') {
      flush();
    } else {
      para.push(line);
    }
  }
  flush();
  return root;
}

// A search snippet: HTML-escaped text with <mark>…</mark> around matches (docs/api.md). Built as nodes:
// the markers are split out and the escaped text is decoded into text nodes, never parsed as markup.
const ENTITIES = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#x27;': "'", '&#39;': "'" };

function unescape(text) {
  return text.replace(/&(?:amp|lt|gt|quot|#x27|#39);/g, (e) => ENTITIES[e]);
}

export function snippet(html) {
  const root = document.createDocumentFragment();
  String(html).split(/(<mark>[\s\S]*?<\/mark>)/).forEach((part) => {
    if (part.startsWith('<mark>') && part.endsWith('</mark>')) {
      const mark = document.createElement('mark');
      mark.textContent = unescape(part.slice(6, -7));
      root.append(mark);
    } else if (part) {
      root.append(document.createTextNode(unmarked(unescape(part))));
    }
  });
  return root;
}

// A snippet is a window cut from the message's source, so its markdown is in pieces (a "**" whose pair is
// outside it): rather than half-render it, its markers are left out, and the reader sees the words.
function unmarked(text) {
  return text.replace(/\*\*|__|~~|`+/g, '').replace(/(^|\n)\s*(?:>|[-*+]|\d+\.)\s+/g, '$1');
}
