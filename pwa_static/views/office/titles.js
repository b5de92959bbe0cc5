// Titles (MCH demonstration counties, seed 001): the province names a county on the conclusion that decides it,
// sees each title's validity and state, and opens unannounced re-checks. The server decides what is allowed
// (backend/programme/mch.py); this screen shows its refusals as they come.
import { useState } from '../../vendor/preact/hooks.js';
import { html } from '../../lib/html.js';
import { useApi } from './data.js';
import { ReturnForm } from './applications.js';

export function Titles({ app, roundId }) {
  const t = app.state.t;
  const apps = useApi(app, `/api/applications?roundId=${roundId}`);
  const titles = useApi(app, `/api/titles?roundId=${roundId}`);
  const facilities = useApi(app, '/api/facilities');
  const names = new Map((facilities.data || []).map((f) => [f.id, f.name]));
  const [error, setError] = useState(null);
  const candidates = (apps.data || []).filter((a) => a.tier === 'demonstration' && (a.status === 'applied' || a.status === 'accepted'));
  const named = new Map((titles.data || []).map((title) => [title.facilityId, title]));
  async function name(facilityId, reason) {
    setError(null);
    try {
      await app.api.post(`/api/rounds/${roundId}/titles`, { facilityId, ...(reason ? { reason } : {}) });
      titles.reload();
    } catch (err) {
      setError(app.state.sayError(err));
    }
  }
  return html`<section class="card" data-testid="titles"><h2>${t('titlesTitle')}</h2>
    <p class="muted">${t('titlesHelp')}</p>
    ${error && html`<p class="banner error" role="alert" data-testid="titles-error">${error}</p>`}
    ${candidates.length === 0 ? html`<p class="muted">${t('noTitleCandidates')}</p>` : html`
    <table class="table"><thead><tr><th scope="col">${t('county')}</th><th scope="col">${t('titleState')}</th>
      <th scope="col">${t('validUntil')}</th><th scope="col">${t('actions')}</th></tr></thead>
    <tbody>${candidates.map((a) => {
      const title = named.get(a.facilityId);
      return html`<tr key=${a.id} data-testid="title-candidate" data-facility-id=${a.facilityId}>
        <td>${names.get(a.facilityId) || a.facilityId}</td>
        <td data-testid="title-state" data-state=${title ? title.status : 'none'}>${title ? t(`titleStatus_${title.status}`) : '—'}
          ${title && html`<br /><span class="muted">${t(`decidedBy_${title.decidedBy}`)}${title.reason ? `：${title.reason}` : ''}</span>`}</td>
        <td>${title ? `${title.namedOn} → ${title.validUntil}` : '—'}</td>
        <td class="actions">${!title && html`
          <button type="button" class="btn primary" data-testid="title-name" onClick=${() => name(a.facilityId)}>${t('nameTitle')}</button>
          <${ReturnForm} t=${t} testid="title-decide" labels=${['nameByProvince', 'provinceReason', 'nameTitle']}
            onSubmit=${(reason) => name(a.facilityId, reason)} />`}</td></tr>`;
    })}</tbody></table>`}
  </section>`;
}
