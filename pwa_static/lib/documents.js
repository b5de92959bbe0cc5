// Documents as evidence (台账): PDF, DOCX and XLSX attach to an article like photos (addPhoto with the file's
// mime; the server sniffs the bytes). The device renders nothing of them: a type icon until the office sees the
// server's first-page thumbnail of a PDF.
import { html } from './html.js';

// `types`: the evidence types that are documents, mime → format name, as the server's checklist lists them
// (GET /api/standards/{id}/checklist: documentTypes); a document's format on a receipt comes with it (`format`).

// what the file input offers (extensions too: some systems give OOXML files no type)
export function documentAccept(types) {
  return [...Object.values(types).map((f) => `.${f.toLowerCase()}`), ...Object.keys(types)].join(',');
}

export function documentFormat(types, mime) {
  return types[mime] || '?';
}

// the file's type as the browser says it, or from its extension when it says nothing
export function documentMime(types, file) {
  if (Object.hasOwn(types, file.type || '')) return file.type;
  const ext = (file.name || '').split('.').pop().toLowerCase();
  const byExtension = Object.keys(types).find((mime) => types[mime].toLowerCase() === ext);
  return byExtension || file.type || 'application/octet-stream';
}

// why a chosen file is not taken as a document, before anything is queued: a macro-enabled Office file
// (.docm/.xlsm) or another type; null when it is one of the document types by its type or name
export function notADocument(types, file) {
  if (Object.hasOwn(types, documentMime(types, file))) return null;
  const ext = (file.name || '').split('.').pop().toLowerCase();
  const format = ext ? ext.toUpperCase() : '?';
  if (['docm', 'xlsm', 'dotm', 'xltm'].includes(ext) || /macroenabled/i.test(file.type || '')) {
    return { code: 'macro_enabled', format };
  }
  return { code: 'unsupported_format', format };
}

// the refusal in the reader's words: the receipt's reason is "code: detail" (or the HTTP status on upload)
export function documentRefusal(t, format, reason) {
  const code = String(reason || '').split(':')[0].trim();
  const said = t(`documentRejected_${code}`, { format });
  return said === `documentRejected_${code}` ? t('documentRejected_other', { format, reason: reason || '?' }) : said;
}

// a page with a folded corner (no emoji: tablets without an emoji font draw an empty box)
export const PAGE = html`<svg class="icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
  <path fill="currentColor" d="M6 2h8l6 6v12a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2zm7 1.5V9h5.5L13 3.5zM8 13v2h8v-2H8zm0 4v2h6v-2H8z"/></svg>`;

export function DocumentIcon({ t, format }) {
  return html`<div class=${`doc-icon doc-${format.toLowerCase()}`} data-testid="document-icon" data-format=${format}
    role="img" aria-label=${t('documentIcon', { format })}><span>${format}</span></div>`;
}
