// 整改 / Improvement: each clinic's improvement plan (read-only), overdue counts, the items needing government
// support across the region (the list the office takes upward), and the CSV export.
import { useState } from '../../vendor/preact/hooks.js';
import { html } from '../../lib/html.js';
import { formatDate } from '../../lib/format.js';
import { useApi } from './data.js';
import { useApp } from '../../lib/app_context.js';

const KINDS = ['soon', 'continuous', 'needs_support'];

async function download(app, path, fallback) {
  const { blob, headers } = await app.api.blob(path);
  // the server names the file readably (round, what it holds) in the reader's language
  const named = /filename\*=UTF-8''([^;]+)/.exec(headers.get('Content-Disposition') || '');
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = named ? decodeURIComponent(named[1]) : fallback;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function ItemsTable({ t, lang, items, withFacility }) {
  return html`<table class="table"><thead><tr>
      ${withFacility && html`<th scope="col">${t('facility')}</th><th scope="col">${t('county')}</th>`}
      <th scope="col">${t('article')}</th><th scope="col">${t('planGap')}</th><th scope="col">${t('planKind')}</th>
      <th scope="col">${t('planOwner')}</th><th scope="col">${t('planDue')}</th><th scope="col">${t('status')}</th></tr></thead>
    <tbody>${items.map(({ item, facilityName, county }) => html`<tr key=${item.id} class=${item.overdue ? 'overdue-row' : ''}
        data-testid="office-improvement-item" data-id=${item.id} data-status=${item.status} data-overdue=${String(item.overdue)}>
      ${withFacility && html`<td>${facilityName}</td><td>${county}</td>`}
      <td><span class="num">${item.itemCode}</span> ${item.articleTitle}<br /><span class="muted">${item.sectionCode} ${item.sectionTitle}</span></td>
      <td>${item.gap}${item.photoIds.length > 0 && html`<br /><span class="muted">${t('photosOfFix', { n: item.photoIds.length })}</span>`}</td>
      <td>${t(`kind_${item.kind}`)}</td><td>${item.owner || '—'}</td>
      <td class="overdue-cell">${formatDate(item.dueDate, lang)}${item.overdue ? ` · ${t('overdue')}` : ''}</td>
      <td>${t(`istatus_${item.status}`)}
        ${item.improved && html` <span class="badge improved" data-testid="improved">${t('improvedFrom', { from: item.gradeBefore, to: item.currentGrade })}</span>`}</td>
    </tr>`)}</tbody></table>`;
}

function PlanDetail({ plan }) {
  const app = useApp();
  const t = app.state.t;
  const items = useApi(`/api/improvement/inspections/${plan.inspectionId}/items`);
  return html`<section class="card" data-testid="office-plan" data-inspection-id=${plan.inspectionId}>
    <h2>${t('planOf', { facility: plan.facilityName })}</h2>
    ${items.error && html`<p class="banner error" role="alert">${app.state.sayError(items.error)}</p>`}
    ${(items.data || []).length === 0 ? html`<p class="muted">${t('planEmpty')}</p>` : KINDS.map((kind) => {
      const mine = items.data.filter((i) => i.kind === kind);
      if (!mine.length) return null;
      return html`<div key=${kind}><h3>${t(`kind_${kind}`)} <span class="muted">${mine.filter((i) => i.status === 'done').length}/${mine.length}</span></h3>
        <${ItemsTable} t=${t} lang=${app.state.lang.value} items=${mine.map((item) => ({ item }))} /></div>`;
    })}
  </section>`;
}

export function Improvement({ roundId }) {
  const app = useApp();
  const t = app.state.t;
  const plans = useApi(`/api/improvement/rounds/${roundId}/plans`);
  const support = useApi(`/api/improvement/rounds/${roundId}/needs-support`);
  const [open, setOpen] = useState(null);
  const [error, setError] = useState(null);
  const exportCsv = () => download(app, `/api/improvement/rounds/${roundId}/export?lang=${app.state.lang.value}`, `${t('export_improvement')}.csv`).catch((err) => setError(app.state.sayError(err)));
  const chosen = (plans.data || []).find((p) => p.inspectionId === open);
  return html`<section class="office-improvement" data-testid="office-improvement">
    <section class="card"><div class="row"><h2>${t('improvementPlans')}</h2>
      <button type="button" class="btn" data-testid="improvement-export" onClick=${exportCsv}>${t('exportCsv')}</button></div>
      ${(plans.error || error) && html`<p class="banner error" role="alert">${plans.error ? app.state.sayError(plans.error) : error}</p>`}
      ${(plans.data || []).length === 0 ? html`<p class="muted">${t('noPlans')}</p>` : html`
      <table class="table"><thead><tr><th scope="col">${t('facility')}</th><th scope="col">${t('county')}</th>
        <th scope="col">${t('planProgress')}</th>
        ${KINDS.map((k) => html`<th scope="col" key=${k}>${t(`kind_${k}`)}</th>`)}
        <th scope="col">${t('overdue')}</th><th scope="col">${t('improvedCount')}</th><th scope="col">${t('actions')}</th></tr></thead>
      <tbody>${plans.data.map((p) => html`<tr key=${p.inspectionId} data-testid="office-plan-row" data-facility-id=${p.facilityId}
          data-total=${p.total} data-done=${p.done} data-overdue=${p.overdue} data-needs-support=${p.needsSupport} class=${p.overdue ? 'overdue-row' : ''}>
        <td>${p.facilityName}</td><td>${p.county}</td>
        <td>${p.done}/${p.total} <progress max=${p.total || 1} value=${p.done} aria-label=${t('planProgress')}></progress></td>
        ${KINDS.map((k) => html`<td key=${k}>${p.byKind[k]?.done ?? 0}/${p.byKind[k]?.total ?? 0}</td>`)}
        <td class="overdue-cell">${p.overdue || '—'}</td><td>${p.improved || '—'}</td>
        <td><button type="button" class="btn small" data-testid="office-plan-open" aria-pressed=${String(open === p.inspectionId)}
          onClick=${() => setOpen(open === p.inspectionId ? null : p.inspectionId)}>${t('planItems')}</button></td>
      </tr>`)}</tbody></table>`}
    </section>
    ${chosen && html`<${PlanDetail} key=${chosen.inspectionId} plan=${chosen} />`}
    <section class="card" data-testid="needs-support">
      <h2>${t('needsSupportList')}</h2><p class="muted">${t('needsSupportHelp')}</p>
      ${support.error && html`<p class="banner error" role="alert">${app.state.sayError(support.error)}</p>`}
      ${(support.data || []).length === 0 ? html`<p class="muted">${t('noNeedsSupport')}</p>`
        : html`<${ItemsTable} t=${t} lang=${app.state.lang.value} withFacility=${true} items=${support.data} />`}
    </section>
  </section>`;
}
