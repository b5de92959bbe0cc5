// Plain formatting helpers (no state).

export function formatBytes(n) {
  if (!n) return '0 B';
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

// Dates and times, the one formatter of the app (backend/vocabulary.py: date_text writes the same forms):
// Chinese 2026年12月3日 08:13, English 3 Dec 2026, 08:13; the device's own time zone.
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n) => String(n).padStart(2, '0');

function parse(value) {
  if (!value) return null;
  // a calendar day (2026-12-03) is that day wherever the device is, not UTC midnight
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const d = day ? new Date(Number(day[1]), Number(day[2]) - 1, Number(day[3])) : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function formatDate(value, lang) {
  const d = parse(value);
  if (!d) return '—';
  if (lang === 'en') return `${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()}`;
  return `${d.getFullYear()}年${d.getMonth() + 1}月${d.getDate()}日`;
}

export function formatTime(value, lang) {
  const d = parse(value);
  if (!d) return '—';
  return `${formatDate(value, lang)}${lang === 'en' ? ',' : ''} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
