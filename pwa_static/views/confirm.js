// A confirmation with a summary before an action that cannot be taken back (submit, apply, sign-off,
// return): what will happen, what is still missing, what cannot be undone. A modal <dialog>: Escape or
// 取消 closes it and changes nothing.
import { html } from '../lib/html.js';
import { useEffect, useRef } from '../vendor/preact/hooks.js';

export function Confirm({ t, open, title, happens = [], missing = [], final = [], okLabel, danger, onOk, onCancel }) {
  const ref = useRef(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  const list = (testid, heading, items, cls) => items.length > 0 && html`<section class=${`confirm-part ${cls}`} data-testid=${testid}>
    <h3>${heading}</h3><ul>${items.map((text, i) => html`<li key=${i}>${text}</li>`)}</ul></section>`;
  return html`<dialog ref=${ref} class="sheet confirm" data-testid="confirm-dialog" aria-labelledby="confirm-title"
      onClose=${() => open && onCancel()}>
    <h2 id="confirm-title">${title}</h2>
    ${open && html`<div>
      ${list('confirm-happens', t('nav.confirm.happens'), happens, '')}
      ${list('confirm-missing', t('nav.confirm.missing'), missing, 'warn-text')}
      ${list('confirm-final', t('nav.confirm.final'), final, 'error-text')}
    </div>`}
    <div class="row confirm-actions">
      <button type="button" class="btn" data-testid="confirm-cancel" onClick=${onCancel}>${t('nav.confirm.cancel')}</button>
      <button type="button" class=${`btn ${danger ? 'danger' : 'primary'}`} data-testid="confirm-ok" onClick=${onOk}>${okLabel}</button>
    </div>
  </dialog>`;
}
