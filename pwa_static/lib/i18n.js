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
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? param(lang, params[name]) : `{${name}}`));
}

// A parameter may itself be a server message {code, params}, or a list of them (as backend/vocabulary.py says).
function param(lang, value) {
  if (Array.isArray(value)) return value.map((v) => param(lang, v)).join(lang === 'en' ? '; ' : '；');
  if (value && typeof value === 'object' && value.code) return translate(lang, value.code, value.params || {});
  return String(value ?? '');
}

// Any error said in the reader's language, never the server's English `detail`: a problem's code with its
// params (`problem_<code>`, or a refused change's `reason_<code>`), no connection, or the HTTP status.
export function sayError(lang, err) {
  if (!err) return '';
  const problem = err.problem?.code ? err.problem : err.code ? err : null;
  if (problem) {
    for (const key of [`problem_${problem.code}`, `reason_${problem.code}`]) {
      if (knows(key)) return translate(lang, key, problem.params || {});
    }
  }
  if (err.kind === 'network' || err.constructor?.name === 'NetworkError') return translate(lang, 'networkError');
  if (err.status >= 500) return translate(lang, 'serverError', { status: err.status });
  if (err.status) return translate(lang, 'problem_status', { status: err.status });
  return translate(lang, 'errorUnknown');
}
