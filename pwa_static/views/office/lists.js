// The round's lists (达标名单) in every state, their exports (CSV / Excel with Chinese headers), the province's
// confirmation and national filing with their two printable documents, and the public page's address.
import { useState } from '../../vendor/preact/hooks.js';
import { html } from '../../lib/html.js';
import { useApi } from './data.js';
import { Report } from './report.js';
import { useApp } from '../../lib/app_context.js';

const STATES = ['applied', 'reported', 'sampled', 'confirmed', 'removed'];
const tierWord = (t, tier) => (tier ? t(`verdict.tier.${tier}`) : '—');

function Confirm({ roundId, onDone }) {
  const app = useApp();
  const t = app.state.t;
  const [documentNo, setNo] = useState('');
  const [documentDate, setDate] = useState(new Date().toISOString().slice(0, 10));
  const [error, setError] = useState(null);
  async function send(kind) {
    setError(null);
    try {
      await app.api.post(`/api/rounds/${roundId}/confirmations`, { kind, documentNo, documentDate });
      onDone();
    } catch (err) {
      setError(err.message);
    }
  }
  return html`<div class="row" data-testid="confirm-form">
    <label class="field inline"><span>${t('verdict.ui.document_no')}</span>
      <input data-testid="confirm-document-no" value=${documentNo} onInput=${(e) => setNo(e.currentTarget.value)} /></label>
    <label class="field inline"><span>${t('verdict.ui.document_date')}</span>
      <input type="date" data-testid="confirm-document-date" value=${documentDate} onInput=${(e) => setDate(e.currentTarget.value)} /></label>
    <button type="button" class="btn primary" data-testid="confirm-list" disabled=${!documentNo.trim()} onClick=${() => send('confirmation')}>${t('verdict.ui.confirm')}</button>
    <button type="button" class="btn" data-testid="file-list" disabled=${!documentNo.trim()} onClick=${() => send('filing')}>${t('verdict.ui.file')}</button>
    ${error && html`<p class="banner error" role="alert" data-testid="confirm-error">${error}</p>`}
  </div>`;
}

export function Lists({ roundId, route }) {
  const app = useApp();
  const t = app.state.t;
  const [state, setState] = useState('');
  const lists = useApi(`/api/rounds/${roundId}/lists${state ? `?state=${state}` : ''}`);
  const [note, setNote] = useState(null);
  if (route.id === 'confirmation-notice' || route.id === 'national-filing') {
    return html`<${Report} kind=${route.id} roundId=${roundId} back="#/office/lists" />`;
  }
  async function exportAs(format) {
    setNote(null);
    try {
      await app.api.post('/api/exports', { kind: 'lists', format, roundId });
      setNote(t('verdict.ui.export_started'));
    } catch (err) {
      setNote(err.message);
    }
  }
  const data = lists.data;
  return html`<section data-testid="lists">
    <section class="card">
      <div class="row">
        <label class="field inline"><span>${t('verdict.col.state')}</span>
          <select data-testid="list-state" value=${state} onChange=${(e) => setState(e.currentTarget.value)}>
            <option value="">${t('verdict.ui.state_all')}</option>
            ${STATES.map((s) => html`<option key=${s} value=${s}>${t(`verdict.state.${s}`)}</option>`)}</select></label>
        <button type="button" class="btn" data-testid="lists-export-csv" onClick=${() => exportAs('csv')}>${t('verdict.ui.export_csv')}</button>
        <button type="button" class="btn" data-testid="lists-export-xlsx" onClick=${() => exportAs('xlsx')}>${t('verdict.ui.export_xlsx')}</button>
        ${note && html`<span class="muted" data-testid="lists-note">${note}</span>`}
      </div>
      ${data && html`<p class="counts" data-testid="list-counts">${STATES.filter((s) => data.counts[s]).map((s) => html`<span key=${s}
        class=${`badge list-${s}`} data-state=${s}>${t(`verdict.state.${s}`)} ${data.counts[s]}</span> `)}</p>`}
      ${lists.error && html`<p class="banner error" role="alert">${lists.error.message}</p>`}
      ${data && html`<table class="table" data-testid="list-table"><thead><tr>
        ${['city', 'county', 'facility', 'licence', 'applied', 'self', 'county_found', 'city_found', 'province_found', 'tier', 'state', 'opinion', 'document']
          .map((c) => html`<th scope="col" key=${c}>${t(`verdict.col.${c}`)}</th>`)}</tr></thead>
        <tbody>${data.entries.map((e) => html`<tr key=${e.facilityId} data-testid="list-entry" data-state=${e.state} data-facility-id=${e.facilityId}>
          <td>${e.cityName}</td><td>${e.countyName}</td><td>${e.facilityName}</td><td><code>${e.licenceNumber}</code></td>
          <td>${tierWord(t, e.appliedTier)}</td><td>${tierWord(t, e.selfResult)}</td>
          <td>${tierWord(t, e.found.county)}</td><td>${tierWord(t, e.found.city)}</td><td>${tierWord(t, e.found.province)}</td>
          <td><strong>${tierWord(t, e.carriedTier)}</strong></td>
          <td><span class=${`badge list-${e.state}`}>${t(`verdict.state.${e.state}`)}</span>
            ${e.removedAt && html` <small class="muted">${t(`verdict.stage.${e.removedAt}`)}</small>`}</td>
          <td class="muted" data-testid="list-opinion">${e.removalOpinion || ''}</td>
          <td class="muted" data-testid="list-document">${e.confirmationDocument || ''}</td></tr>`)}</tbody></table>`}
    </section>
    <section class="card" data-testid="confirmations"><h2>${t('verdict.ui.confirm_title')}</h2>
      ${(data?.confirmations || []).map((c) => html`<p key=${c.id} data-testid="confirmation" data-kind=${c.kind}>${t('verdict.ui.confirmed_by', {
        kind: t(`verdict.ui.kind.${c.kind}`), documentNo: c.documentNo, documentDate: c.documentDate, n: c.entries.length })}</p>`)}
      <${Confirm} roundId=${roundId} onDone=${lists.reload} />
      <p class="row">
        <a class="btn" data-testid="doc-confirmation" href="#/office/lists/confirmation-notice">${t('verdict.ui.notice')}</a>
        <a class="btn" data-testid="doc-filing" href="#/office/lists/national-filing">${t('verdict.ui.filing')}</a>
        <a class="btn link" data-testid="public-link" href=${`/public/rounds/${roundId}`} target="_blank" rel="noopener">${t('verdict.ui.public')}</a>
      </p>
    </section>
  </section>`;
}
