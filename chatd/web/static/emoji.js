// Emoji by their Slack and GitHub short names, so that ":thumbsup:" typed in a message (or sent by a bot)
// shows as 👍. An unknown name stays as typed.
export const SHORTCODES = new Map(Object.entries({
  '+1': '👍', thumbsup: '👍', '-1': '👎', thumbsdown: '👎', heart: '❤️', joy: '😂', tada: '🎉', eyes: '👀',
  white_check_mark: '✅', heavy_check_mark: '✔️', x: '❌', pray: '🙏', fire: '🔥', smile: '😄', grinning: '😀',
  slightly_smiling_face: '🙂', sweat_smile: '😅', blush: '😊', wink: '😉', heart_eyes: '😍', thinking: '🤔',
  thinking_face: '🤔', open_mouth: '😮', cry: '😢', sob: '😭', rage: '😡', clap: '👏', raised_hands: '🙌',
  100: '💯', rocket: '🚀', star: '⭐', handshake: '🤝', coffee: '☕', pizza: '🍕', dart: '🎯', ok_hand: '👌',
  wave: '👋', muscle: '💪', sunglasses: '😎', partying_face: '🥳', warning: '⚠️', bulb: '💡', memo: '📝',
  sparkles: '✨', point_up: '☝️', see_no_evil: '🙈', shrug: '🤷', zap: '⚡', bug: '🐛', lock: '🔒',
}));
