// Applications of a round, with accept / return (a written opinion), and the city and province samples.
import { useState } from '../../vendor/preact/hooks.js';
import { html } from '../../lib/html.js';
import { Confirm } from '../confirm.js';
import { formatTime } from '../../lib/format.js';
import { useApi } from './data.js';
import { useApp } from '../../lib/app_context.js';

// A written text then a confirm: a return's opinion, or the reason of a "submit incomplete" (other labels).
// `confirm`: {title, happens, final}: the written opinion goes out only after a summary is confirmed.
function ReturnForm({ t, onSubmit, testid, labels = ['returnWithOpinion', 'opinion', 'returnConfirm'], confirm }) {
  const [open, setOpen] = useState(false);
  const [asking, setAsking] = useState(false);
  const [text, setText] = useState('');
  const [openLabel, fieldLabel, confirmLabel] = labels;
  if (!open) return html`<button type="button" class="btn" data-testid=${`${testid}-open`} onClick=${() => setOpen(true)}>${t(openLabel)}</button>`;
  const summary = confirm || { title: t(confirmLabel), happens: [], final: [t('nav.confirm.returnFinal')] };
  return html`<form class="return-form" onSubmit=${(e) => { e.preventDefault(); if (text.trim()) setAsking(true); }}>
    <label class="field"><span>${t(fieldLabel)}</span>
      <textarea data-testid=${`${testid}-opinion`} rows="3" required value=${text} onInput=${(e) => setText(e.currentTarget.value)}></textarea></label>
    <button type="submit" class="btn primary" data-testid=${`${testid}-submit`} disabled=${!text.trim()}>${t(confirmLabel)}</button>
    <${Confirm} t=${t} open=${asking} title=${summary.title} happens=${[...summary.happens, t('nav.confirm.opinionSent', { text: text.trim() })]}
      final=${summary.final} okLabel=${t(confirmLabel)} onCancel=${() => setAsking(false)}
      onOk=${() => { setAsking(false); onSubmit(text.trim()); }} />
  </form>`;
}

export { ReturnForm };

function Samples({ roundId, tiers }) {
  const app = useApp();
  const t = app.state.t;
  const lang = app.state.lang.value;
  const samples = useApi(`/api/rounds/${roundId}/samples`);
  const [error, setError] = useState(null);
  const [seed, setSeed] = useState('');
  const [chosen, setTier] = useState(null);
  // the tiers applied for at this round (基层行: basic first; MCH: demonstration)
  const tier = chosen && tiers.includes(chosen) ? chosen : tiers[0] || 'basic';
  async function draw(level) {
    setError(null);
    try {
      await app.api.post(`/api/rounds/${roundId}/samples`, { level, tier, ...(seed ? { seed } : {}) });
      samples.reload();
    } catch (err) {
      setError(app.state.sayError(err));
    }
  }
  return html`<section class="card" data-testid="samples"><h2>${t('sampling')}</h2>
    <p class="muted">${t(tier === 'demonstration' ? 'samplingRuleMch' : 'samplingRule')}</p>
    <div class="row">
      ${tiers.length > 1 && html`<label class="field inline"><span>${t('tier')}</span>
        <select data-testid="sample-tier" value=${tier} onChange=${(e) => setTier(e.currentTarget.value)}>
          ${tiers.map((code) => html`<option value=${code} key=${code}>${t(`tier_${code}`)}</option>`)}</select></label>`}
      <label class="field inline"><span>${t('seed')}</span><input value=${seed} onInput=${(e) => setSeed(e.currentTarget.value)} placeholder=${t('seedAuto')} /></label>
      <button type="button" class="btn primary" data-testid="draw-city" onClick=${() => draw('city')}>${t('drawCity')}</button>
      <button type="button" class="btn primary" data-testid="draw-province" onClick=${() => draw('province')}>${t('drawProvince')}</button>
    </div>
    ${error && html`<p class="banner error" role="alert">${error}</p>`}
    ${(samples.data || []).map((s) => html`<article class="sample" key=${s.id} data-testid="sample" data-level=${s.level}>
      <h3>${t(`stage_${s.level}`)} · ${t(`tier_${s.tier}`)} · ${Math.round(s.ratio * 100)}% · ${t('drawnOf', { n: s.drawnCount, of: s.poolSize })}</h3>
      <p class="muted">${t('seed')} <code>${s.seed}</code> · ${formatTime(s.drawnAt, lang)} ${s.inUse ? ` · ${t('sampleInUse')}` : ''}</p>
      <p>${s.explanationMessage ? t(s.explanationMessage.code, s.explanationMessage.params) : ''}</p>
      <table class="table"><thead><tr><th scope="col">${t('county')}</th><th scope="col">${t('pool')}</th><th scope="col">${t('drawn')}</th><th scope="col">${t('why')}</th></tr></thead>
      <tbody>${s.strata.map((st) => html`<tr key=${st.countyId}><td>${st.countyName}</td><td>${st.poolSize}</td>
        <td>${st.facilities.filter((f) => f.drawn).map((f) => f.name).join('、') || '—'}</td><td class="muted">${st.message ? t(st.message.code, st.message.params) : ''}</td></tr>`)}</tbody></table>
    </article>`)}
  </section>`;
}

export function Applications({ roundId }) {
  const app = useApp();
  const t = app.state.t;
  const lang = app.state.lang.value;
  const apps = useApi(`/api/applications?roundId=${roundId}`);
  const facilities = useApi('/api/facilities');
  const names = new Map((facilities.data || []).map((f) => [f.id, f.name]));
  // the clinic's improvement plan, shown to the reviewers beside its application
  const plans = useApi(`/api/improvement/rounds/${roundId}/plans`);
  const planOf = new Map((plans.data || []).map((p) => [p.facilityId, p]));
  const [error, setError] = useState(null);
  async function decide(id, body) {
    setError(null);
    try {
      await app.api.patch(`/api/applications/${id}`, body);
      apps.reload();
    } catch (err) {
      setError(app.state.sayError(err));
    }
  }
  return html`<section data-testid="applications">
    <section class="card"><h2>${t('applications')}</h2>
      ${error && html`<p class="banner error" role="alert">${error}</p>`}
      ${!apps.data && !apps.error && html`<p class="muted">${t('loading')}</p>`}
      ${apps.data && apps.data.length === 0 ? html`<p class="muted">${t('noApplications')}</p>` : apps.data && html`
      <table class="table"><thead><tr><th scope="col">${t('facility')}</th><th scope="col">${t('tier')}</th><th scope="col">${t('status')}</th>
        <th scope="col">${t('planProgress')}</th><th scope="col">${t('appliedAt')}</th><th scope="col">${t('actions')}</th></tr></thead>
      <tbody>${apps.data.map((a) => html`<tr key=${a.id} data-testid="application" data-application-id=${a.id}>
        <td>${names.get(a.facilityId) || a.facilityId}</td><td>${t(`tier_${a.tier}`)}</td><td>${t(`app_${a.status}`)}</td>
        <td data-testid="application-plan">${planOf.has(a.facilityId) ? html`${t('planDoneOf', planOf.get(a.facilityId))}
          ${planOf.get(a.facilityId).overdue > 0 && html` <span class="badge overdue-badge">${t('overdueCount', { n: planOf.get(a.facilityId).overdue })}</span>`}
          ${planOf.get(a.facilityId).needsSupport > 0 && html` <span class="badge istatus-needs_support">${t('istatus_needs_support')} ${planOf.get(a.facilityId).needsSupport}</span>`}
          ${' '}<a class="btn link" href="#/office/improvement">${t('planItems')}</a>` : '—'}</td>
        <td>${formatTime(a.createdAt, lang)}</td>
        <td class="actions">${a.status === 'applied' && html`<button type="button" class="btn primary" data-testid="application-accept"
            onClick=${() => decide(a.id, { status: 'accepted' })}>${t('accept')}</button>`}
          ${(a.status === 'applied' || a.status === 'accepted') && html`<${ReturnForm} t=${t} testid="application-return"
            onSubmit=${(opinion) => decide(a.id, { status: 'returned', opinion })} />`}
          <a class="btn small" href=${`#/office/report/${a.facilityId}/${roundId}`} data-testid="application-report">${t('report')}</a></td></tr>`)}</tbody></table>`}
    </section>
    <${Samples} roundId=${roundId} tiers=${[...new Set((apps.data || []).map((a) => a.tier))].sort((a, b) => (a === 'basic' ? -1 : b === 'basic' ? 1 : 0))} />
  </section>`;
}
