// Chinese first, English by a switch. `t(key, params)` reads the current language from the store.
// Every text, the app's own and the server's codes alike, is one vocabulary: pwa_static/vocabulary/<feature>.json,
// gathered by lib/vocabulary.js (the server says the same codes in its documents, backend/vocabulary.py).
import { VOCABULARY } from './vocabulary.js';

// A server message {code, params} said in the reader's language.
export function say(lang, message) {
  if (!message) return '';
  return translate(lang, message.code, message.params || {});
}

// Whether the vocabulary has a text for `key` (a server code the app has no text for is said by a fallback).
export function knows(key) {
  return Object.hasOwn(VOCABULARY.zh, key);
}

export function translate(lang, key, params = {}) {
  const dict = VOCABULARY[lang] || VOCABULARY.zh;
  const text = dict[key] ?? VOCABULARY.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (params[name] ?? `{${name}}`));
}
