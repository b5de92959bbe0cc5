// The clinic's improvement plan (整改计划, docs/improvement.md): suggested items from weak grades, the plan by
// kind and by chapter, progress, overdue items, editing, photos of the fix, and a printable page.
// Works offline: the items are the view (confirmed state + queue replayed), the targets a kept copy.
import { useEffect, useState } from '../vendor/preact/hooks.js';
import { html } from '../lib/html.js';
import { formatDate } from '../lib/format.js';
import { answersOf } from '../lib/inspection.js';
import {
  KINDS, articleIndex, improvementConflictsOf, isOverdue, planItems, planKinds, planSuggestions,
} from '../lib/plan.js';
import { CAMERA, thumbUrl } from './parts.js';
import { useApp } from '../lib/app_context.js';


export function kindLabel(t, kind) {
  return KINDS.includes(kind) ? t(`kind_${kind}`) : kind;
}
// status -> the statuses it may move to (the server checks the same, sync/push/mutators/improvement.py)
const NEXT = {
  open: ['in_progress', 'done', 'needs_support'],
  in_progress: ['open', 'done', 'needs_support'],
  needs_support: ['open', 'in_progress', 'done'],
  done: ['in_progress'],
};

export function allowedStatuses(item) {
  return (NEXT[item.status] || []).filter((s) => s !== 'needs_support' || item.kind === 'needs_support');
}


// 已改进 C→B: done, and the article's self-assessed grade is now better than when the item was written
export function improvement(item, current, ranks) {
  if (item.status !== 'done' || !ranks) return null;
  const before = item.gradeBefore;
  if (typeof before !== 'string' || typeof current !== 'string') return null;
  if (!(before in ranks) || !(current in ranks) || ranks[current] <= ranks[before]) return null;
  return { before, current };
}


function Suggestions({ inspectionId, suggestions }) {
  const app = useApp();
  const t = app.state.t;
  if (!suggestions.length) return null;
  const accept = (s) => app.actions.createImprovement(inspectionId, {
    itemCode: s.number, kind: 'soon', gap: t('suggestionGap', { title: s.title, grade: s.grade, target: s.target }),
  });
  return html`<section class="card plan-suggestions no-print" data-testid="plan-suggestions">
    <h2>${t('planSuggestions')}</h2><p class="muted">${t('planSuggestionsHelp')}</p>
    <ul class="suggestions">${suggestions.map((s) => html`<li key=${s.number} class="suggestion" data-testid="suggestion" data-item=${s.number}>
      <span class="badge draft">${t('draft')}</span>
      <span><span class="num">${s.number}</span> ${s.title}</span>
      <span class="muted">${t('gradeVsTarget', { grade: s.grade, target: s.target })}</span>
      <button type="button" class="btn small primary" data-testid="suggestion-accept" onClick=${() => accept(s)}>${t('accept')}</button>
    </li>`)}</ul>
  </section>`;
}

function NewItem({ inspectionId, index, kinds }) {
  const app = useApp();
  const t = app.state.t;
  const [open, setOpen] = useState(false);
  const [itemCode, setItemCode] = useState('');
  const [gap, setGap] = useState('');
  const [kind, setKind] = useState('soon');
  if (!open) return html`<button type="button" class="btn no-print" data-testid="plan-add" onClick=${() => setOpen(true)}>＋ ${t('planAdd')}</button>`;
  async function save(e) {
    e.preventDefault();
    if (!itemCode || !gap.trim()) return;
    await app.actions.createImprovement(inspectionId, { itemCode, gap: gap.trim(), kind });
    setOpen(false);
    setGap('');
  }
  return html`<form class="card plan-form no-print" data-testid="plan-new" onSubmit=${save}>
    <label class="field"><span>${t('article')}</span>
      <select data-testid="plan-new-article" value=${itemCode} onChange=${(e) => setItemCode(e.currentTarget.value)} required>
        <option value="">—</option>
        ${[...index.values()].map(({ article }) => html`<option key=${article.number} value=${article.number}>${article.number} ${article.title}</option>`)}
      </select></label>
    <label class="field"><span>${t('planGap')}</span>
      <textarea data-testid="plan-new-gap" rows="2" required value=${gap} onInput=${(e) => setGap(e.currentTarget.value)}></textarea></label>
    <label class="field"><span>${t('planKind')}</span>
      <select data-testid="plan-new-kind" value=${kind} onChange=${(e) => setKind(e.currentTarget.value)}>
        ${kinds.map((k) => html`<option key=${k} value=${k}>${kindLabel(t, k)}</option>`)}</select></label>
    <div class="row"><button type="submit" class="btn primary" data-testid="plan-new-save">${t('save')}</button>
      <button type="button" class="btn" onClick=${() => setOpen(false)}>${t('cancel')}</button></div>
  </form>`;
}

function EditForm({ item, kinds, onDone }) {
  const app = useApp();
  const t = app.state.t;
  const [gap, setGap] = useState(item.gap || '');
  const [kind, setKind] = useState(item.kind);
  const [owner, setOwner] = useState(item.owner || '');
  const [due, setDue] = useState(item.dueDate || '');
  const [status, setStatus] = useState(item.status);
  async function save(e) {
    e.preventDefault();
    const { actions } = app;
    if (gap.trim() && gap.trim() !== item.gap) await actions.setImprovementField(item, 'gap', gap.trim());
    if (kind !== item.kind) await actions.setImprovementField(item, 'kind', kind);
    if (owner.trim() !== (item.owner || '')) await actions.setImprovementField(item, 'owner', owner.trim());
    if ((due || null) !== (item.dueDate || null)) await actions.setImprovementField(item, 'dueDate', due || null);
    if (status !== item.status) await actions.setImprovementStatus({ ...item, kind }, status);
    onDone();
  }
  // waiting for support goes with that kind: the status follows a change of kind (still editable)
  function changeKind(value) {
    setKind(value);
    if (value === 'needs_support' && status === 'open') setStatus('needs_support');
    if (value !== 'needs_support' && status === 'needs_support') setStatus(item.status === 'needs_support' ? 'open' : item.status);
  }
  const statuses = [item.status, ...allowedStatuses({ ...item, kind })];
  return html`<form class="plan-form no-print" data-testid="improvement-form" onSubmit=${save}>
    <label class="field"><span>${t('planGap')}</span>
      <textarea data-testid="improvement-gap" rows="2" value=${gap} onInput=${(e) => setGap(e.currentTarget.value)}></textarea></label>
    <div class="row">
      <label class="field inline"><span>${t('planKind')}</span>
        <select data-testid="improvement-kind" value=${kind} onChange=${(e) => changeKind(e.currentTarget.value)}>
          ${kinds.map((k) => html`<option key=${k} value=${k}>${kindLabel(t, k)}</option>`)}</select></label>
      <label class="field inline"><span>${t('planOwner')}</span>
        <input data-testid="improvement-owner" value=${owner} maxlength="200" onInput=${(e) => setOwner(e.currentTarget.value)} /></label>
      <label class="field inline"><span>${t('planDue')}</span>
        <input type="date" data-testid="improvement-due" value=${due} onInput=${(e) => setDue(e.currentTarget.value)} /></label>
      <label class="field inline"><span>${t('status')}</span>
        <select data-testid="improvement-status" value=${status} onChange=${(e) => setStatus(e.currentTarget.value)}>
          ${statuses.map((s) => html`<option key=${s} value=${s}>${t(`istatus_${s}`)}</option>`)}</select></label>
    </div>
    <div class="row"><button type="submit" class="btn primary" data-testid="improvement-save">${t('save')}</button>
      <button type="button" class="btn" onClick=${onDone}>${t('cancel')}</button></div>
  </form>`;
}

function ItemPhotos({ item }) {
  const app = useApp();
  const t = app.state.t;
  const local = app.state.photos.value;
  const view = app.state.view.value;
  const ids = (item.photoIds || []).filter((id) => view.has(`photo/${id}`) || local.has(id));
  if (!ids.length) return null;
  return html`<div class="photo-grid small">${ids.map((id) => {
    const photo = local.get(id);
    const url = thumbUrl(photo);
    const stateName = photo?.state || 'received';
    return html`<figure key=${id} class=${`photo state-${stateName}`} data-testid="improvement-photo" data-photo-id=${id} data-state=${stateName}>
      ${url ? html`<img src=${url} alt=${t('fixPhoto')} />` : html`<div class="noimg" aria-hidden="true">${CAMERA}</div>`}
      <figcaption><span class="photo-state">${t(`photo_${stateName}`)}</span></figcaption></figure>`;
  })}</div>`;
}

function FieldConflicts({ item, conflicts }) {
  const app = useApp();
  const t = app.state.t;
  if (!conflicts.length) return null;
  return html`${conflicts.map((c) => html`<div class="banner conflict" role="alert" data-testid="conflict" data-item=${c.itemCode} data-field=${c.field} key=${c.id}>
    <p><strong>${t('planConflict', { field: t(`field_${c.field}`) })}</strong></p>
    <div class="candidates">${(c.candidates || []).map((cand) => html`<button type="button" class="btn" key=${cand.clientId + cand.mutationId}
      data-testid="conflict-candidate" data-value=${String(cand.value)} disabled=${c.pending}
      onClick=${() => app.actions.resolveConflict(c, cand.value)}>${t('conflictPick', { v: cand.value ?? '—' })}</button>`)}</div>
  </div>`)}`;
}

function Item({ item, index, grades, ranks, conflicts, readOnly, kinds }) {
  const app = useApp();
  const t = app.state.t;
  const [editing, setEditing] = useState(false);
  const entry = index.get(item.itemCode);
  const overdue = isOverdue(item);
  const current = grades.get(item.itemCode)?.value;
  const better = improvement(item, current, ranks);
  const inputId = `fix-${item.id}`;
  async function chosen(event) {
    const input = event.currentTarget;
    const files = [...input.files];
    input.value = '';
    for (const file of files) await app.actions.addImprovementPhoto(item, file);
  }
  const quick = allowedStatuses(item).filter((s) => s !== 'open' && s !== 'needs_support');
  return html`<article class=${`improvement card status-${item.status} ${overdue ? 'overdue' : ''}`} data-testid="improvement"
      data-id=${item.id} data-item=${item.itemCode} data-kind=${item.kind} data-status=${item.status} data-overdue=${String(overdue)}>
    <header class="improvement-head">
      <h4><span class="num">${item.itemCode}</span> ${entry?.article.title || ''}</h4>
      <span class=${`badge istatus-${item.status}`} data-testid="improvement-status-badge">${t(`istatus_${item.status}`)}</span>
      ${overdue && html`<span class="badge overdue-badge" data-testid="overdue">${t('overdue')}</span>`}
      ${better && html`<span class="badge improved" data-testid="improved">${t('improvedFrom', { from: better.before, to: better.current })}</span>`}
      ${item.pending && html`<span class="muted">(${t('notSynced')})</span>`}
    </header>
    <p class="gap">${item.gap}</p>
    <p class="meta muted">
      <span>${t('planOwner')}：${item.owner || '—'}</span>
      <span>${t('planDue')}：${formatDate(item.dueDate, app.state.lang.value)}</span>
      ${typeof current === 'string' && html`<span>${t('gradeNow')}：${current}</span>`}
    </p>
    <${FieldConflicts} item=${item} conflicts=${conflicts} />
    <${ItemPhotos} item=${item} />
    ${readOnly ? null : editing ? html`<${EditForm} item=${item} kinds=${kinds} onDone=${() => setEditing(false)} />` : html`<div class="row no-print">
      <button type="button" class="btn small" data-testid="improvement-edit" onClick=${() => setEditing(true)}>${t('edit')}</button>
      ${quick.map((s) => html`<button type="button" key=${s} class=${`btn small ${s === 'done' ? 'primary' : ''}`} data-testid="improvement-set-status"
        data-value=${s} onClick=${() => app.actions.setImprovementStatus(item, s)}>${t(item.status === 'done' ? 'reopen' : `istatusTo_${s}`)}</button>`)}
      <label class="btn small camera" for=${inputId}>${CAMERA} ${t('fixPhoto')}</label>
      <input id=${inputId} class="visually-hidden" type="file" accept="image/*" capture="environment" multiple
        data-testid="improvement-photo-input" onChange=${chosen} />
    </div>`}
  </article>`;
}

function Progress({ t, items, kinds }) {
  return html`<div class="plan-progress" data-testid="plan-progress">${kinds.map((kind) => {
    const mine = items.filter((i) => i.kind === kind);
    const done = mine.filter((i) => i.status === 'done').length;
    return html`<div class="kind-progress" key=${kind} data-kind=${kind} data-done=${done} data-total=${mine.length}>
      <span>${kindLabel(t, kind)}</span><strong>${done}/${mine.length}</strong>
      <progress max=${mine.length || 1} value=${done} aria-label=${kindLabel(t, kind)}></progress></div>`;
  })}</div>`;
}

// The same plan printed to PDF by the server (backend/reports, kind improvement-plan): an export job, polled,
// then downloaded; the office's job helpers are loaded only when asked, as the office screens are.
function PlanPdf({ facilityId, roundId }) {
  const app = useApp();
  const t = app.state.t;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  if (!facilityId || !roundId || !app.state.online.value) return null;
  async function pdf() {
    setBusy(true);
    setError(null);
    try {
      const { exportAndDownload } = await import('./office/files.js');
      await exportAndDownload(app, { kind: 'improvement-plan', format: 'pdf', facilityId, roundId, lang: app.state.lang.value });
    } catch (err) {
      setError(app.state.sayError(err));
    } finally {
      setBusy(false);
    }
  }
  return html`<button type="button" class="btn" data-testid="plan-pdf" disabled=${busy} onClick=${pdf}>
      ${busy ? t('pdfMaking') : t('pdf')}</button>
    ${error && html`<span class="warn-text" role="alert">${error}</span>`}`;
}

export function Plan({ id }) {
  const app = useApp();
  const { state } = app;
  const t = state.t;
  const view = state.view.value;
  const inspection = view.get(`inspection/${id}`);
  useEffect(() => {
    app.actions.loadPlanTargets(id);
  }, [id, state.sync.value.lastSyncAt]);
  if (!inspection) return html`<main class="page"><a class="btn link" href="#/">← ${t('back')}</a><p class="card empty">${t('noAssignments')}</p></main>`;
  const bundle = state.standards.value.get(inspection.standardVersionId);
  const facility = view.get(`facility/${inspection.facilityId}`);
  const listed = state.assignments.value.find((a) => a.inspectionId === id);
  if (!bundle) return html`<main class="page"><p class="card empty">${t('syncing')}</p></main>`;
  const index = articleIndex(bundle);
  const items = planItems(view, id);
  const kinds = planKinds(bundle, items);
  const grades = answersOf(view, id);
  const targets = state.planTargets.value.get(id);
  const ranks = targets?.ranks || null;
  const suggestions = planSuggestions({ grades, targets, items, index });
  const conflicts = improvementConflictsOf(view, id);
  const overdue = items.filter((i) => isOverdue(i)).length;
  const readOnly = state.session.value?.user?.role !== 'clinic';
  return html`<main class="page plan" data-testid="plan" data-inspection-id=${id}>
    <a class="btn link no-print" href="#/">← ${t('back')}</a>
    <header class="card plan-head">
      <h1>${t('planTitle')} · ${facility?.name || listed?.facilityName || ''}</h1>
      <p class="meta"><span>${listed?.roundName || ''}</span>
        ${targets?.tierLabel && html`<span class="badge">${t('planAim', { tier: targets.tierLabel })}</span>`}
        <span data-testid="plan-total">${t('planDoneOf', { done: items.filter((i) => i.status === 'done').length, total: items.length })}</span>
        ${overdue > 0 && html`<span class="badge overdue-badge" data-testid="plan-overdue">${t('overdueCount', { n: overdue })}</span>`}</p>
      <${Progress} t=${t} items=${items} kinds=${kinds} />
      <div class="row no-print">
        <button type="button" class="btn" data-testid="plan-print" onClick=${() => window.print()}>${t('print')}</button>
        <${PlanPdf} facilityId=${inspection.facilityId} roundId=${listed?.roundId || inspection.roundId} />
        <a class="btn" href=${`#/i/${id}`}>${t('planToSelf')}</a>
      </div>
    </header>
    ${!readOnly && html`<${Suggestions} inspectionId=${id} suggestions=${suggestions} />`}
    ${!readOnly && html`<${NewItem} inspectionId=${id} index=${index} kinds=${kinds} />`}
    ${items.length === 0 && html`<p class="card empty">${t('planEmpty')}</p>`}
    ${kinds.map((kind) => {
      const mine = items.filter((i) => i.kind === kind);
      if (!mine.length) return null;
      const chapters = new Map();
      for (const item of mine) {
        const chapter = index.get(item.itemCode)?.chapter;
        const key = chapter?.code || '';
        if (!chapters.has(key)) chapters.set(key, { chapter, items: [] });
        chapters.get(key).items.push(item);
      }
      return html`<section class="plan-kind" key=${kind} data-testid="plan-kind" data-kind=${kind}>
        <h2>${kindLabel(t, kind)} <span class="muted">${mine.filter((i) => i.status === 'done').length}/${mine.length}</span></h2>
        ${[...chapters.values()].map(({ chapter, items: inChapter }) => html`<section class="plan-chapter" key=${chapter?.code || '-'} data-testid="plan-chapter" data-section=${chapter?.code || ''}>
          <h3><span class="num">${chapter?.code || ''}</span> ${chapter?.title || ''}</h3>
          ${inChapter.map((item) => html`<${Item} key=${item.id} item=${item} index=${index} grades=${grades} ranks=${ranks} readOnly=${readOnly} kinds=${kinds}
            conflicts=${conflicts.filter((c) => c.registerKey.startsWith(`improvement/${item.id}/`))} />`)}
        </section>`)}
      </section>`;
    })}
  </main>`;
}
