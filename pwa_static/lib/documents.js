// Documents as evidence (台账): PDF, DOCX and XLSX attach to an article like photos (addPhoto with the file's
// mime; the server sniffs the bytes). The device renders nothing of them: a type icon until the office sees the
// server's first-page thumbnail of a PDF.
import { html } from './html.js';

const PDF = 'application/pdf';
const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
export const DOCUMENT_TYPES = { [PDF]: 'PDF', [DOCX]: 'DOCX', [XLSX]: 'XLSX' };
const BY_EXTENSION = { pdf: PDF, docx: DOCX, xlsx: XLSX };

// what the file input offers (extensions too: some systems give OOXML files no type)
export const DOCUMENT_ACCEPT = ['.pdf', '.docx', '.xlsx', ...Object.keys(DOCUMENT_TYPES)].join(',');

export function isDocument(mime) {
  return Object.hasOwn(DOCUMENT_TYPES, mime || '');
}

export function documentFormat(mime) {
  return DOCUMENT_TYPES[mime] || '?';
}

// the file's type as the browser says it, or from its extension when it says nothing
export function documentMime(file) {
  if (isDocument(file.type)) return file.type;
  const ext = (file.name || '').split('.').pop().toLowerCase();
  return BY_EXTENSION[ext] || file.type || 'application/octet-stream';
}

// why a chosen file is not taken as a document, before anything is queued: a macro-enabled Office file
// (.docm/.xlsm) or another type; null when it is a PDF, DOCX or XLSX by its type or name
export function notADocument(file) {
  if (isDocument(documentMime(file))) return null;
  const ext = (file.name || '').split('.').pop().toLowerCase();
  const format = ext ? ext.toUpperCase() : '?';
  if (['docm', 'xlsm', 'dotm', 'xltm'].includes(ext) || /macroenabled/i.test(file.type || '')) {
    return { code: 'macro_enabled', format };
  }
  return { code: 'unsupported_format', format };
}

export function minDocuments(bundle, article) {
  const own = article?.evidence?.minDocuments;
  if (typeof own === 'number') return own;
  return bundle?.evidenceDefaults?.minDocuments ?? 0;
}

// the refusal in the reader's words: the receipt's reason is "code: detail" (or the HTTP status on upload)
export function documentRefusal(t, mime, reason) {
  const code = String(reason || '').split(':')[0].trim();
  const format = documentFormat(mime);
  const said = t(`documentRejected_${code}`, { format });
  return said === `documentRejected_${code}` ? t('documentRejected_other', { format, reason: reason || '?' }) : said;
}

// a page with a folded corner (no emoji: tablets without an emoji font draw an empty box)
export const PAGE = html`<svg class="icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
  <path fill="currentColor" d="M6 2h8l6 6v12a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2zm7 1.5V9h5.5L13 3.5zM8 13v2h8v-2H8zm0 4v2h6v-2H8z"/></svg>`;

export function DocumentIcon({ t, mime }) {
  const format = documentFormat(mime);
  return html`<div class=${`doc-icon doc-${format.toLowerCase()}`} data-testid="document-icon" data-format=${format}
    role="img" aria-label=${t('documentIcon', { format })}><span>${format}</span></div>`;
}
