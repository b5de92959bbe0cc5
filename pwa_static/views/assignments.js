import { html } from '../lib/html.js';
import { assignmentCards } from '../lib/inspection.js';
import { useApp } from '../lib/app_context.js';

// Inspections held on this device (from pull) joined with the server's list (names, progress).
export function Assignments() {
  const app = useApp();
  const { state } = app;
  const t = state.t;
  const role = state.session.value?.user?.role;
  const cards = assignmentCards({
    view: state.view.value,
    assignments: state.assignments.value,
    standards: state.standards.value,
    checklists: state.checklists.value,
    photos: state.photos.value,
    pending: state.pending.value,
  });
  if (!cards.length) {
    return html`<main class="page"><h1>${t('assignments')}</h1><p class="empty card">${t('noAssignments')}</p></main>`;
  }
  return html`<main class="page"><h1>${t('assignments')}</h1>
    <ul class="cards">${cards.map((c) => html`<li key=${c.inspection.id}>
      <a class="card inspection-card" href=${`#/i/${c.inspection.id}`} data-testid="inspection-card"
        data-inspection-id=${c.inspection.id}>
        <div class="card-head">
          <h2>${c.facility?.name || c.listedRow.facilityName || '—'}</h2>
          <span class=${`badge status-${c.inspection.status}`}>${t(`status_${c.inspection.status}`)}</span>
        </div>
        <p class="meta"><span class="badge stage">${t(`stage_${c.inspection.stage}`)}</span>
          ${c.listedRow.isLead && html`<span class="badge lead">${t('lead')}</span>`}
          <span>${c.bundle?.name || c.listedRow.standardName || "…"}</span></p>
        ${c.listedRow.roundName && html`<p class="muted">${c.listedRow.roundName}${c.listedRow.regionName ? ` · ${c.listedRow.regionName}` : ''}</p>`}
        <div class="progress-line">
          <span>${t('answeredOf', { a: c.answered, b: c.total })}</span>
          <progress max=${c.total || 1} value=${c.answered} aria-label=${t('progress')}></progress>
        </div>
        <p class="meta">
          <span class=${c.toSend ? 'warn-text' : 'muted'}>${t('photosToSend', { n: c.toSend })}</span>
          <span class=${c.queued ? 'warn-text' : 'muted'}>${c.queued ? t('pendingChanges', { n: c.queued }) : t('allSynced')}</span>
        </p>
      </a>
      ${c.inspection.stage === 'self' && role === 'clinic' && html`<a class="btn small plan-link" href=${`#/plan/${c.inspection.id}`}
        data-testid="plan-link" data-inspection-id=${c.inspection.id}>${t('planTitle')}${c.planCount ? ` · ${t('planDoneOf', c.planCount)}` : ''}</a>`}
      ${c.inspection.stage === 'self' && role === 'clinic' && c.inspection.roundId && html`<a class="btn small result-link" href=${`#/result/${c.inspection.roundId}`}
        data-testid="result-link">${t('verdict.ui.result_link')}</a>`}
      </li>`)}
    </ul></main>`;
}
