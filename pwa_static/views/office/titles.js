// Titles (MCH demonstration counties, seed 001): the province names a county on the conclusion that decides it,
// sees each title's validity and state, and opens unannounced re-checks. The server decides what is allowed
// (backend/programme/mch.py); this screen shows its refusals as they come.
import { useState } from '../../vendor/preact/hooks.js';
import { html } from '../../lib/html.js';
import { useApi } from './data.js';
import { ReturnForm } from './applications.js';
import { useApp } from '../../lib/app_context.js';

export function Titles({ roundId }) {
  const app = useApp();
  const t = app.state.t;
  const apps = useApi(`/api/applications?roundId=${roundId}`);
  const titles = useApi(`/api/titles?roundId=${roundId}`);
  const facilities = useApi('/api/facilities');
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
  </section>
  <${Rechecks} roundId=${roundId} names=${names} />`;
}

// Unannounced re-checks (不定期抽查) of the titles held: the province opens one at the chosen round (a province
// review with no application; its team is set in 阶段), then decides it on its signed conclusion: a failure
// gives a deadline to fix (限期整改), a failure while fixing revokes the title; where no threshold decides,
// the province gives the outcome with its reason.
function Rechecks({ roundId, names }) {
  const app = useApp();
  const t = app.state.t;
  const titles = useApi('/api/titles');
  const [error, setError] = useState(null);
  const held = (titles.data || []).filter((title) => title.roundId !== roundId);
  async function act(path, body) {
    setError(null);
    try {
      await app.api.post(path, body);
      titles.reload();
    } catch (err) {
      setError(app.state.sayError(err));
    }
  }
  return html`<section class="card" data-testid="rechecks"><h2>${t('recheckTitle')}</h2>
    <p class="muted">${t('recheckHelp')}</p>
    ${error && html`<p class="banner error" role="alert" data-testid="recheck-error">${error}</p>`}
    ${held.length === 0 ? html`<p class="muted">${t('noHeldTitles')}</p>` : html`
    <table class="table"><thead><tr><th scope="col">${t('county')}</th><th scope="col">${t('titleState')}</th>
      <th scope="col">${t('recheckHistory')}</th><th scope="col">${t('actions')}</th></tr></thead>
    <tbody>${held.map((title) => {
      const here = title.rechecks.find((r) => r.roundId === roundId);
      const active = title.status === 'named' || title.status === 'fix_required';
      return html`<tr key=${title.id} data-testid="held-title" data-title-id=${title.id} data-state=${title.status}>
        <td>${title.facilityName || names.get(title.facilityId) || title.facilityId}</td>
        <td data-testid="held-title-state">${t(`titleStatus_${title.status}`)}<br /><span class="muted">${title.namedOn} → ${title.validUntil}</span>
          ${title.fixDueOn && html`<br /><span class="warn-text" data-testid="fix-due">${t('recheckFixDue', { day: title.fixDueOn })}</span>`}
          ${title.revokedOn && html`<br /><span class="warn-text">${t('recheckRevokedOn', { day: title.revokedOn })}</span>`}</td>
        <td>${title.rechecks.length === 0 ? '—' : title.rechecks.map((r) => html`<p key=${r.id} data-testid="recheck" data-outcome=${r.outcome}>
          ${r.openedAt.slice(0, 10)} · ${t(`recheckOutcome_${r.outcome}`)}${r.decidedBy ? ` · ${t(`decidedBy_${r.decidedBy}`)}` : ''}
          ${r.reason ? html`<br /><span class="muted">${r.reason}</span>` : ''}</p>`)}</td>
        <td class="actions">
          ${active && !here && html`<button type="button" class="btn" data-testid="recheck-open"
            onClick=${() => act(`/api/titles/${title.id}/rechecks`, { roundId })}>${t('recheckOpen')}</button>`}
          ${here && here.outcome === 'open' && html`
            <button type="button" class="btn primary" data-testid="recheck-decide"
              onClick=${() => act(`/api/rechecks/${here.id}/decision`, {})}>${t('recheckDecide')}</button>
            <${DecideForm} t=${t} onSubmit=${(outcome, reason) => act(`/api/rechecks/${here.id}/decision`, { outcome, reason })} />`}
        </td></tr>`;
    })}</tbody></table>`}
  </section>`;
}

// The province's own outcome, with its written reason (only where no threshold of the standard decides).
function DecideForm({ t, onSubmit }) {
  const [open, setOpen] = useState(false);
  const [outcome, setOutcome] = useState('passed');
  const [reason, setReason] = useState('');
  if (!open) return html`<button type="button" class="btn" data-testid="recheck-province-open" onClick=${() => setOpen(true)}>${t('recheckByProvince')}</button>`;
  return html`<form class="return-form" onSubmit=${(e) => { e.preventDefault(); if (reason.trim()) onSubmit(outcome, reason.trim()); }}>
    <label class="field"><span>${t('recheckOutcome')}</span>
      <select data-testid="recheck-outcome" value=${outcome} onChange=${(e) => setOutcome(e.currentTarget.value)}>
        <option value="passed">${t('recheckOutcome_passed')}</option><option value="failed">${t('recheckOutcome_failed')}</option></select></label>
    <label class="field"><span>${t('provinceReason')}</span>
      <textarea data-testid="recheck-reason" rows="2" required value=${reason} onInput=${(e) => setReason(e.currentTarget.value)}></textarea></label>
    <button type="submit" class="btn primary" data-testid="recheck-province-submit" disabled=${!reason.trim()}>${t('recheckDecide')}</button>
  </form>`;
}
