// The office's queue of open conflicts, by inspection and section; resolved with a written reason.
import { useState } from '../../vendor/preact/hooks.js';
import { html } from '../../lib/html.js';
import { formatTime } from '../../lib/format.js';
import { candidateAuthorText } from '../../lib/conflicts.js';
import { useApi, useThumb } from './data.js';
import { useApp } from '../../lib/app_context.js';

function QueuedPhoto({ photo }) {
  const app = useApp();
  const url = useThumb(photo.thumbReady ? photo.photoId : null);
  const t = app.state.t;
  return html`<figure class="mini" data-testid="office-conflict-photo" data-photo-id=${photo.photoId}>
    ${url ? html`<img src=${url} alt=${photo.caption || t('nav.photoAlt', { item: '' })} />` : html`<div class="noimg"></div>`}
    <figcaption>${photo.byName}${photo.caption ? ` · ${photo.caption}` : ''}</figcaption></figure>`;
}

function Resolve({ conflict, onDone }) {
  const app = useApp();
  const t = app.state.t;
  const [reason, setReason] = useState('');
  const [error, setError] = useState(null);
  async function pick(value) {
    setError(null);
    try {
      await app.api.post(`/api/conflicts/${conflict.id}/resolve`, { value, baseVersion: conflict.version, reason });
      onDone();
    } catch (err) {
      setError(app.state.sayError(err));
    }
  }
  return html`<div class="resolve" data-testid="office-conflict" data-item=${conflict.itemCode}>
    <h3><span class="num">${conflict.itemCode}</span> ${conflict.articleTitle || ''}</h3>
    <ul class="office-candidates">${conflict.candidates.map((c) => html`<li key=${`${c.clientId}${c.mutationId}`} data-testid="office-conflict-side">
      <strong>${String(c.value)}</strong> · <span data-testid="office-conflict-author">${candidateAuthorText(t, c)}</span>
      ${!Number.isNaN(Date.parse(String(c.hlc || '').slice(0, 24))) ? html` · <time data-testid="office-conflict-when">${formatTime(String(c.hlc).slice(0, 24), app.state.lang.value)}</time>` : ''}</li>`)}</ul>
    ${(conflict.notes || []).length > 0 && html`<div data-testid="office-conflict-notes"><span class="label">${t('notes')}</span>
      ${conflict.notes.map((n, i) => html`<p class="note" key=${i}>${n.text} <span class="muted">— ${n.authorName}</span></p>`)}</div>`}
    ${(conflict.photos || []).length > 0 && html`<div class="mini-grid">${conflict.photos.map((ph) => html`<${QueuedPhoto} key=${ph.photoId} photo=${ph} />`)}</div>`}
    <p>${t('candidates')}</p>
    <label class="field"><span>${t('reason')}</span>
      <input data-testid="office-conflict-reason" value=${reason} required onInput=${(e) => setReason(e.currentTarget.value)} /></label>
    <div class="row">${conflict.candidates.map((c) => html`<button type="button" class="btn primary" key=${c.clientId + c.mutationId}
      data-testid="office-conflict-pick" data-value=${String(c.value)} disabled=${!reason.trim()} onClick=${() => pick(c.value)}>
      ${t('conflictPick', { v: String(c.value) })}</button>`)}</div>
    ${error && html`<p class="banner error" role="alert">${error}</p>`}
  </div>`;
}

export function Conflicts({ roundId }) {
  const app = useApp();
  const t = app.state.t;
  const queue = useApi(`/api/rounds/${roundId}/conflicts`);
  if (queue.error) return html`<p class="banner error" role="alert">${app.state.sayError(queue.error)}</p>`;
  const groups = queue.data || [];
  return html`<section data-testid="conflict-queue">
    ${groups.length === 0 && html`<p class="card muted">${t('noConflicts')}</p>`}
    ${groups.map((g) => html`<section class="card" key=${g.inspectionId + g.section}>
      <h2>${g.facilityName} · ${t(`stage_${g.stage}`)} · ${g.section} ${g.sectionTitle}</h2>
      ${g.conflicts.map((c) => html`<${Resolve} key=${c.id} conflict=${c} onDone=${queue.reload} />`)}
    </section>`)}
  </section>`;
}
