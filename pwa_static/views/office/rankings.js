// Where each article's grade of a facility ranks within its county, city and province, ties explained;
// and the per-section discrepancy rates between self-assessment and a review stage.
import { useState } from '../../vendor/preact/hooks.js';
import { html } from '../../lib/html.js';
import { useApi } from './data.js';
import { useApp } from '../../lib/app_context.js';

function Rates({ roundId, stage }) {
  const app = useApp();
  const t = app.state.t;
  const rates = useApi(`/api/rounds/${roundId}/discrepancy-rates?stage=${stage}`);
  if (!rates.data) return null;
  return html`<section class="card" data-testid="discrepancy-rates"><h2>${t('discrepancyRates')} · ${t(`stage_${stage}`)}</h2>
    <table class="table"><thead><tr><th scope="col">${t('section')}</th><th scope="col">${t('compared')}</th><th scope="col">${t('differing')}</th>
      <th scope="col">${t('wideGaps')}</th><th scope="col">${t('rate')}</th></tr></thead>
    <tbody>${rates.data.sections.map((s) => html`<tr key=${s.standardId + s.section}><td>${s.section} ${s.title}</td><td>${s.compared}</td>
      <td>${s.differing}</td><td>${s.wideGaps}</td><td>${Math.round(s.rate * 100)}%</td></tr>`)}</tbody></table></section>`;
}

export function Rankings({ roundId, route }) {
  const app = useApp();
  const t = app.state.t;
  const [stage, setStage] = useState('county');
  const inspections = useApi(`/api/inspections?roundId=${roundId}`);
  // facilities with an inspection at the chosen stage: only those have grades to rank
  const facilities = [
    ...new Map((inspections.data || []).filter((i) => i.stage === stage).map((i) => [i.facilityId, i.facilityName])).entries(),
  ];
  const facilityId = facilities.some(([id]) => id === route.id) ? route.id : facilities[0]?.[0];
  const ranking = useApi(facilityId ? `/api/facilities/${facilityId}/rounds/${roundId}/rankings?stage=${stage}` : null, [stage]);
  return html`<section data-testid="rankings">
    <div class="row">
      <label class="field inline"><span>${t('facility')}</span>
        <select data-testid="ranking-facility" value=${facilityId || ''} onChange=${(e) => (location.hash = `#/office/rankings/${e.currentTarget.value}`)}>
          ${facilities.map(([id, name]) => html`<option key=${id} value=${id}>${name}</option>`)}</select></label>
      <label class="field inline"><span>${t('stage')}</span>
        <select data-testid="ranking-stage" value=${stage} onChange=${(e) => setStage(e.currentTarget.value)}>
          ${['self', 'county', 'city', 'province'].map((s) => html`<option key=${s} value=${s}>${t(`stage_${s}`)}</option>`)}</select></label>
    </div>
    ${inspections.data && facilities.length === 0 && html`<p class="card muted">${t('noStageYet')}</p>`}
    ${ranking.error && html`<p class="banner warn" role="status">${app.state.sayError(ranking.error)}</p>`}
    ${ranking.data && html`<section class="card"><h2>${t('rankings')}</h2><p class="muted" data-testid="ranking-rule">${t('rankings_rule')}</p>
      <table class="table" data-testid="ranking-table"><thead><tr><th scope="col">${t('article')}</th><th scope="col">${t('answer')}</th>
        <th scope="col">${t('county')}</th><th scope="col">${t('city')}</th><th scope="col">${t('province')}</th></tr></thead>
      <tbody>${ranking.data.articles.map((a) => {
        const place = (scope) => a.places.find((p) => p.scope === scope);
        return html`<tr key=${a.item}><th scope="row"><span class="num">${a.item}</span> ${a.title}</th><td>${a.value ?? '—'}</td>
          ${['county', 'city', 'province'].map((scope) => {
            const p = place(scope);
            return html`<td key=${scope} title=${p?.explanationMessage ? t(p.explanationMessage.code, p.explanationMessage.params) : ''}>${p ? `${p.rank}/${p.of}${p.tied > 1 ? ` (${t('tied', { n: p.tied })})` : ''}` : '—'}</td>`;
          })}</tr>`;
      })}</tbody></table></section>`}
    <${Rates} roundId=${roundId} stage=${stage === 'self' ? 'county' : stage} />
  </section>`;
}
