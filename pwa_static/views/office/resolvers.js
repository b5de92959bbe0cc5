// Who at each facility resolves its conflicts (its self-assessment, its improvement plan): the office chooses
// one of the facility's clinic accounts; with none chosen any of them may. The sync push enforces it
// (backend/accounts/resolvers.py); the clinic's app shows the name beside a conflict.
import { useState } from '../../vendor/preact/hooks.js';
import { html } from '../../lib/html.js';
import { formatTime } from '../../lib/format.js';
import { useApi } from './data.js';
import { useApp } from '../../lib/app_context.js';

const staffName = (s) => (s.displayName ? `${s.displayName}（${s.username}）` : s.username);

function ResolverRow({ row, onSaved }) {
  const app = useApp();
  const t = app.state.t;
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function choose(userId) {
    setError(null);
    setBusy(true);
    try {
      await app.api.put(`/api/conflict-resolvers/${row.facilityId}`, { userId: userId || null });
      onSaved();
    } catch (err) {
      setError(app.state.sayError(err));
    } finally {
      setBusy(false);
    }
  }
  const label = `${t('resolvers_choose')} · ${row.facilityName}`;
  return html`<tr data-testid="resolver-row" data-facility-id=${row.facilityId} data-resolver=${row.resolver?.userId || ''}>
    <td>${row.facilityName}</td>
    <td data-testid="resolver-current">${row.resolver ? staffName(row.resolver) : html`<span class="muted">${t('resolvers_none')}</span>`}
      ${row.designatedAt && html`<br /><small class="muted">${t('resolvers_since', { time: formatTime(row.designatedAt, app.state.lang.value) })}</small>`}</td>
    <td>${row.staff.length === 0 ? html`<span class="muted">${t('resolvers_noStaff')}</span>` : html`
      <select data-testid="resolver-select" aria-label=${label} disabled=${busy || !app.state.online.value}
        value=${row.resolver?.userId || ''} onChange=${(e) => choose(e.currentTarget.value)}>
        <option value="">${t('resolvers_anyone')}</option>
        ${row.staff.map((s) => html`<option key=${s.userId} value=${s.userId}>${staffName(s)}</option>`)}
      </select>`}
      ${error && html`<p class="banner error" role="alert">${error}</p>`}</td>
  </tr>`;
}

export function Resolvers() {
  const app = useApp();
  const t = app.state.t;
  const list = useApi('/api/conflict-resolvers');
  if (list.error) return html`<p class="banner error" role="alert">${app.state.sayError(list.error)}</p>`;
  const rows = list.data || [];
  return html`<section class="card" data-testid="resolvers"><h2>${t('resolvers_title')}</h2>
    <p class="muted">${t('resolvers_help')}</p>
    ${rows.length === 0 ? html`<p class="muted">${list.loading ? t('loading') : t('resolvers_noFacilities')}</p>` : html`
    <table class="table"><thead><tr><th scope="col">${t('facility')}</th><th scope="col">${t('resolvers_current')}</th>
      <th scope="col">${t('resolvers_choose')}</th></tr></thead>
      <tbody>${rows.map((row) => html`<${ResolverRow} key=${row.facilityId} row=${row} onSaved=${list.reload} />`)}</tbody></table>`}
  </section>`;
}
