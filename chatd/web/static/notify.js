// Desktop notifications, as Slack's defaults give them: a direct message or group conversation, or a message
// that mentions you, while you are not looking at it (another channel, another tab, a hidden window). Off
// until you turn them on from your menu (the browser asks for permission then, in answer to that click);
// "off" is remembered in this browser.

import { channelTitle, isConversation, state, userName } from './state.js';

const OFF_KEY = 'chatd.notifications';
const BODY_MAX = 180;
const shown = new Set();  // message ids notified: a message in a conversation that also mentions you is one

function api() {
  return 'Notification' in window ? window.Notification : null;
}

// 'on', 'off' (the browser allows them, you turned them off), 'ask' (never asked), 'blocked', 'insecure'
// (browsers allow them only on HTTPS pages and localhost) or 'none'.
export function notificationState() {
  const N = api();
  if (!window.isSecureContext) return 'insecure';
  if (!N) return 'none';
  if (N.permission === 'denied') return 'blocked';
  if (N.permission !== 'granted') return 'ask';
  return remembered() === 'off' ? 'off' : 'on';
}

// The choice, in this browser's storage; where storage is refused (a private window), for as long as the page.
let memory = null;

function remembered() {
  try {
    return localStorage.getItem(OFF_KEY);
  } catch {
    return memory;
  }
}

function remember(value) {
  memory = value;
  try {
    if (value === null) localStorage.removeItem(OFF_KEY);
    else localStorage.setItem(OFF_KEY, value);
  } catch {
    // kept in memory only
  }
}

// The menu's item: turn them on (asking the browser first if needed) or off.
export async function toggleNotifications() {
  const now = notificationState();
  if (now === 'on') {
    remember('off');
    return 'off';
  }
  remember(null);
  if (now === 'ask') await api().requestPermission();
  return notificationState();
}

function wanted(channel, data) {
  if (!channel || !channel.member || data.user_id === state.me.id) return false;
  return isConversation(channel) || (data.mentions || []).includes(state.me.id);
}

function text(data) {
  const words = (data.contents || '').replace(/\s+/g, ' ').trim();
  const files = (data.files || []).map((f) => f.name).join(', ');
  const body = words || (files ? `sent ${files}` : '');
  return body.length > BODY_MAX ? `${body.slice(0, BODY_MAX - 1)}…` : body;
}

// A message just arrived live (not from you, not replayed by a resume; of a kind that counts as unread).
// `looking`: you are reading that channel now. `open()`: shows the message (in its thread, for a reply) when
// the notice is clicked.
export function notifyMessage(channel, data, looking, open) {
  const N = api();
  if (!N || looking || notificationState() !== 'on' || !wanted(channel, data) || shown.has(data.id)) return;
  shown.add(data.id);
  const author = userName(data.user_id);
  const where = isConversation(channel) ? channelTitle(channel) : `#${channel.name}`;
  const title = where === author ? author : `${author} in ${where}`;
  const icon = document.querySelector('link[rel=icon]');
  let notice;
  try {
    notice = new N(title, { body: text(data), tag: `chatd-${data.id}`, icon: icon ? icon.href : undefined });
  } catch {
    return;  // a browser with the API but no page notifications (Android's): nothing shown, nothing broken
  }
  notice.onclick = () => {
    window.focus();
    open();
    notice.close();
  };
}
