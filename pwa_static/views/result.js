// The clinic's result at a round, once the office signs a stage off: its tier (applied for vs found, and who
// decided), the final grade of each article with its place within county, city and province, and the articles
// where it ranked low, offered for its improvement plan. Read online; nothing per expert is ever sent.
import { useEffect, useState } from '../vendor/preact/hooks.js';
import { html } from '../lib/html.js';
import { Statement } from './office/verdict.js';
import { useApp } from '../lib/app_context.js';

export function Result({ roundId }) {
  const app = useApp();
  const t = app.state.t;
  const user = app.state.session.value?.user;
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (!user?.facilityId) return;
    app.api
      .get(`/api/facilities/${user.facilityId}/rounds/${roundId}/result`)
      .then((r) => setData(r.data))
      .catch((err) => setError(err.message));
  }, [roundId, user?.facilityId]);
  const scopeName = (p) => `${t(`verdict.scope.${p.scope}`)}`;
  // the clinic's self-assessment at this round holds its plan: a low-ranked article is taken into it
  const view = app.state.view.value;
  let selfId = null;
  for (const [key, value] of view) {
    if (key.startsWith('inspection/') && value.stage === 'self' && value.roundId === roundId) selfId = value.id;
  }
  const planned = new Set();
  for (const [key, value] of view) {
    if (key.startsWith('improvement/') && value.inspectionId === selfId && !value.deleted) planned.add(value.itemCode);
  }
  const take = (s) => app.actions.createImprovement(selfId, {
    itemCode: s.item, kind: 'continuous',
    gap: t('verdict.ui.low_gap', { title: s.title, grade: s.value, scope: t(`verdict.scope.${s.scope}`), rank: s.rank, of: s.of }),
  });
  return html`<main class="page result" data-testid="clinic-result">
    <p><a class="btn" href="#/">← ${t('back')}</a></p>
    <h1>${t('verdict.ui.result_title')}</h1>
    ${error && html`<p class="banner error" role="alert">${error}</p>`}
    ${!data && !error && html`<p class="muted">${t('loading')}</p>`}
    ${data && !data.signed && html`<p class="card muted" data-testid="result-none">${t('verdict.ui.result_none')}</p>`}
    ${data?.signed && html`<section class="card" data-testid="result-tier" data-tier=${data.tier || ''} data-state=${data.state || ''}>
        <h2>${data.tierLabel || t(`verdict.tier.${data.tier}`)}${data.state && html` <span class=${`badge list-${data.state}`}>${t(`verdict.state.${data.state}`)}</span>`}</h2>
        <p class="muted">${t('verdict.ui.stage_of_result', { stage: t(`verdict.stage.${data.stage}`) })}</p>
        <${Statement} lines=${data.statement} testid="result-statement" />
      </section>
      ${data.suggestions.length > 0 && html`<section class="card" data-testid="result-suggestions"><h2>${t('verdict.ui.suggestions')}</h2>
        <p class="muted">${t('verdict.ui.kinds', { kinds: data.improvementKinds.join('、') })}</p>
        <ul>${data.suggestions.map((s) => html`<li key=${s.item} data-testid="result-suggestion" data-item=${s.item}>
          <span class="num">${s.item}</span> ${s.title} · ${s.value} · ${t(`verdict.scope.${s.scope}`)} ${s.rank}/${s.of}
          ${selfId && (planned.has(s.item) ? html` <span class="badge" data-testid="result-suggestion-planned">${t('verdict.ui.in_plan')}</span>`
            : html` <button type="button" class="btn small primary" data-testid="result-suggestion-take" onClick=${() => take(s)}>${t('verdict.ui.take')}</button>`)}</li>`)}</ul>
        ${selfId && html`<a class="btn small" href=${`#/plan/${selfId}`} data-testid="result-plan-link">${t('planTitle')}</a>`}</section>`}
      <section class="card"><table class="table" data-testid="result-articles"><thead><tr>
        <th scope="col">${t('article')}</th><th scope="col">${t('verdict.ui.final_grade')}</th>
        ${data.rankScopes.map((s) => html`<th scope="col" key=${s}>${t(`verdict.scope.${s}`)}</th>`)}</tr></thead>
        <tbody>${data.articles.map((a) => html`<tr key=${a.item} data-testid="result-article" data-item=${a.item} data-low=${String(a.rankedLow)}>
          <th scope="row"><span class="num">${a.item}</span> ${a.title}${a.rankedLow ? html` <span class="badge overdue-badge">${t('verdict.ui.low')}</span>` : ''}</th>
          <td>${a.value ?? '—'}</td>
          ${data.rankScopes.map((s) => {
            const p = a.places.find((x) => x.scope === s);
            return html`<td key=${s} title=${p ? scopeName(p) : ''}>${p ? t('verdict.ui.place', { region: p.regionName, rank: p.rank, of: p.of }) : '—'}</td>`;
          })}</tr>`)}</tbody></table></section>`}
  </main>`;
}
