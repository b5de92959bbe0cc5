// Evidence flags of a round (near duplicates, distance, capture time): both photos side by side, and a
// person's review of each flag (accepted or disputed, with a reason). Flags inform; they never reject.
import { useState } from '../../vendor/preact/hooks.js';
import { html } from '../../lib/html.js';
import { useApi, useThumb } from './data.js';
import { useApp } from '../../lib/app_context.js';

function Side({ photo, label }) {
  const app = useApp();
  const t = app.state.t;
  const url = useThumb(photo.photoId);
  return html`<figure class="flag-photo" data-testid="flag-photo" data-photo-id=${photo.photoId}>
    ${url ? html`<img src=${url} alt=${`${photo.facilityName} ${photo.itemCode}`} />` : html`<div class="noimg"></div>`}
    <figcaption><strong>${label}</strong> ${photo.facilityName} · ${t('article')} ${photo.itemCode} · ${t(`stage_${photo.stage}`)}
      ${photo.distance !== undefined ? html` · ${t('hashDistance', { n: photo.distance })}` : ''}</figcaption>
  </figure>`;
}

function Review({ flag, onDone }) {
  const app = useApp();
  const t = app.state.t;
  const [reason, setReason] = useState('');
  const [error, setError] = useState(null);
  if (flag.review) {
    return html`<p class=${flag.review.status === 'accepted' ? 'warn-text' : 'ok-text'} data-testid="flag-reviewed">
      ${t(`flagReview_${flag.review.status}`)}：${flag.review.reason}</p>`;
  }
  async function send(status) {
    setError(null);
    try {
      await app.api.put(`/api/evidence/photos/${flag.photo.photoId}/flags/${flag.code}/review`, { status, reason });
      onDone();
    } catch (err) {
      setError(app.state.sayError(err));
    }
  }
  return html`<div class="row">
    <label class="field inline"><span>${t('reason')}</span><input value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} /></label>
    <button type="button" class="btn" disabled=${!reason.trim()} onClick=${() => send('accepted')}>${t('flagAccept')}</button>
    <button type="button" class="btn" disabled=${!reason.trim()} onClick=${() => send('disputed')}>${t('flagDispute')}</button>
    ${error && html`<span class="error-text">${error}</span>`}
  </div>`;
}

export function Evidence({ roundId }) {
  const app = useApp();
  const t = app.state.t;
  const list = useApi(`/api/evidence/rounds/${roundId}/flags`);
  if (list.error) return html`<p class="banner error" role="alert">${app.state.sayError(list.error)}</p>`;
  if (!list.data) return html`<p class="muted">${t('loading')}</p>`;
  const flags = list.data.flags;
  return html`<section data-testid="evidence-flags">
    <p class="muted">${Object.entries(list.data.counts).map(([code, n]) => `${t(`flag_${code}`)} ${n}`).join(' · ') || t('noFlags')}</p>
    ${flags.map((f, i) => html`<article class="card flag" key=${`${f.photo.photoId}-${f.code}-${i}`} data-testid="evidence-flag" data-code=${f.code}>
      <h3><span class="badge flag">${t(`flag_${f.code}`)}</span> ${f.message ? t(f.message.code, f.message.params) : ''}</h3>
      <div class="side-by-side">
        <${Side} photo=${f.photo} label=${t('thisPhoto')} />
        ${f.related.map((r) => html`<${Side} key=${r.photoId} photo=${r} label=${t('relatedPhoto')} />`)}
      </div>
      ${f.relatedHidden > 0 && html`<p class="muted">${t('relatedHidden', { n: f.relatedHidden })}</p>`}
      <${Review} flag=${f} onDone=${list.reload} />
    </article>`)}
  </section>`;
}
