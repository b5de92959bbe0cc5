// Small shared widgets.
import { html } from '../lib/html.js';

const thumbUrls = new Map(); // photoId -> object URL of the device-made thumbnail

export function thumbUrl(photo) {
  if (!photo?.thumb) return null;
  let url = thumbUrls.get(photo.photoId);
  if (!url) {
    url = URL.createObjectURL(photo.thumb);
    thumbUrls.set(photo.photoId, url);
  }
  return url;
}

export function Button({ testid, onClick, children, pressed, disabled, kind = '', label, value, type = 'button' }) {
  return html`<button
    type=${type}
    class=${`btn ${kind}`}
    data-testid=${testid}
    data-value=${value}
    aria-pressed=${pressed === undefined ? undefined : String(Boolean(pressed))}
    aria-label=${label}
    disabled=${disabled}
    onClick=${onClick}
  >${children}</button>`;
}

export function ProgressBar({ value, label }) {
  const pct = Math.round(Math.max(0, Math.min(1, value || 0)) * 100);
  return html`<progress class="bar" max="100" value=${pct} aria-label=${label}>${pct}%</progress>`;
}

export const CAMERA = html`<svg class="icon" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
  <path fill="currentColor" d="M9 3 7.2 5H4a2 2 0 0 0-2 2v11a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2h-3.2L15 3H9zm3 5a5 5 0 1 1 0 10 5 5 0 0 1 0-10zm0 2a3 3 0 1 0 0 6 3 3 0 0 0 0-6z"/></svg>`;
