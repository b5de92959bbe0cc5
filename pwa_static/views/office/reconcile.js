// Reconciliation: a facility's self-assessment beside each review stage, article by article, with both
// sides' photos; gaps the server marks wide stand out. Each stage's conclusion, its sign-off and its return.
import { useEffect, useState } from '../../vendor/preact/hooks.js';
import { html } from '../../lib/html.js';
import { formatTime } from '../../lib/format.js';
import { ReturnForm } from './applications.js';
import { useApi, useThumb } from './data.js';
import { VerdictSignOff, standingLine } from './verdict.js';
import { DocumentIcon, documentRefusal } from '../../lib/documents.js';
import { facilitiesOfRound, receiptPending, reconcileStages, reconcileTable } from '../../lib/reconcile.js';
import { useApp } from '../../lib/app_context.js';

// still open for edits: the team submits it, or the office submits it incomplete with a reason
const OPEN = new Set(['draft', 'in_progress', 'returned']);

function show(t, value) {
  if (value === null || value === undefined) return '—';
  if (value === true) return t('met');
  if (value === false) return t('notMet');
  if (value === 'NA') return t('na'); // the standards' N/A answer, as the server sends it
  return String(value);
}

// A ledger beside the photos: a PDF's first page (the server's thumbnail) or the type's icon, and a button that
// opens the document itself (fetched with the session, shown by the browser in a new tab).
function DocumentTile({ photo }) {
  const app = useApp();
  const t = app.state.t;
  const format = photo.format || '?';
  const url = useThumb(photo.thumbReady ? photo.photoId : null);
  const [failed, setFailed] = useState(null);
  const [opened, setOpened] = useState(null); // bytes shown in the tab
  async function open() {
    // the tab is opened now, inside the click, so no popup blocker stops it; the bytes follow
    const tab = window.open('', '_blank');
    try {
      const { blob: bytes } = await app.api.blob(`/api/photos/${photo.photoId}/original`);
      const objectUrl = URL.createObjectURL(new Blob([bytes], { type: photo.mime }));
      if (tab) tab.location.href = objectUrl;
      setOpened(bytes.size);
      setFailed(null);
    } catch (err) {
      tab?.close();
      setFailed(String(err.message || err));
    }
  }
  return html`<figure class="mini document" data-testid="reconcile-document" data-photo-id=${photo.photoId} data-format=${format}
      data-state=${photo.state} data-opened-size=${opened ?? undefined}>
    ${url ? html`<img src=${url} alt=${t('documentIcon', { format })} />` : html`<${DocumentIcon} t=${t} format=${format} />`}
    ${photo.state === 'rejected'
      ? html`<figcaption class="error-text">${documentRefusal(t, format, photo.reason)}</figcaption>`
      : html`<button type="button" class="btn doc-open" data-testid="reconcile-document-open" disabled=${photo.state === 'awaiting_upload'}
          onClick=${open}>${t('documentOpen', { format })}</button>`}
    ${failed && html`<figcaption class="error-text">${t('documentOpenFailed', { reason: failed })}</figcaption>`}
  </figure>`;
}

function Thumb({ photo }) {
  const app = useApp();
  if (photo.kind === 'document') return html`<${DocumentTile} photo=${photo} />`;
  const t = app.state.t;
  // only a photo whose thumbnail is made (thumbReady) shows it; the others show their state
  const url = useThumb(photo.thumbReady ? photo.photoId : null);
  return html`<figure class="mini" data-testid="reconcile-photo" data-photo-id=${photo.photoId}>
    ${url ? html`<img src=${url} alt=${`${photo.itemCode}`} />` : html`<div class="noimg" title=${photo.state}></div>`}
    ${(photo.flags || []).length > 0 && html`<figcaption class="warn-text">${photo.flags.map((f) => (f.message ? t(f.message.code, f.message.params) : t(`flag_${f.code}`))).join('；')}</figcaption>`}
  </figure>`;
}

function Photos({ photos }) {
  if (!photos?.length) return null;
  return html`<div class="mini-grid">${photos.map((p) => html`<${Thumb} key=${p.photoId} photo=${p} />`)}</div>`;
}

function StageConclusion({ stage, signed, onChange }) {
  const app = useApp();
  const t = app.state.t;
  const view = useApi(`/api/inspections/${stage.inspectionId}/conclusion`);
  const [error, setError] = useState(null);
  async function post(path, body) {
    setError(null);
    try {
      await app.api.post(path, body);
      view.reload();
      onChange();
    } catch (err) {
      setError(app.state.sayError(err));
    }
  }
  const c = view.data?.conclusion;
  const mark = view.data?.submittedIncomplete;
  return html`<section class="card stage-conclusion" data-testid="stage-conclusion" data-stage=${stage.stage}>
    <h3>${t(`stage_${stage.stage}`)} · ${t(`status_${stage.status}`)}</h3>
    ${c && html`<p data-testid="conclusion-known"><strong>${c.knownMessage ? t(c.knownMessage.code, c.knownMessage.params) : c.tierLabel || t(`conclusion_${c.status}`)}</strong></p>
      ${(c.standings || []).length > 0 && html`<ul class="standings">${c.standings.map((s) => html`<li key=${s.code} data-standing=${s.standing}>
        <span class=${`badge standing-${s.standing}`}>${t(`standing_${s.standing}`)}</span> <span class="muted" data-testid="standing-line">${standingLine(t, s)}</span></li>`)}</ul>`}`}
    ${mark && html`<div class="banner warn stack" data-testid="submitted-incomplete">
      <strong>${t('submittedIncomplete', { by: mark.submittedByName, at: formatTime(mark.submittedAt, app.state.lang.value) })}</strong>
      <p>${t('submittedIncompleteReason', { reason: mark.reason })}</p>
      ${mark.missingMessage && html`<p class="muted">${t('submittedIncompleteMissing', { missing: mark.missingMessage })}</p>`}</div>`}
    ${stage.stage !== 'self' && !mark && html`<${VerdictSignOff} stage=${stage} view=${view.data} signed=${signed}
      onSigned=${() => { view.reload(); onChange(); }} />`}
    ${error && html`<p class="banner error" role="alert">${error}</p>`}
    <div class="row">
      ${stage.status === 'submitted' && html`<${ReturnForm} t=${t} testid="inspection-return"
        confirm=${{ title: t('returnWithOpinion'), happens: [t('nav.confirm.returnHappens', { stage: t(`stage_${stage.stage}`) })], final: [t('nav.confirm.returnFinal')] }}
        onSubmit=${(opinion) => post(`/api/inspections/${stage.inspectionId}/return`, { opinion })} />`}
      ${stage.stage !== 'self' && OPEN.has(stage.status) && html`<${ReturnForm} t=${t} testid="submit-incomplete"
        labels=${['submitIncomplete', 'submitIncompleteReason', 'submitIncompleteConfirm']}
        confirm=${{ title: t('submitIncomplete'), happens: [t('nav.confirm.incompleteHappens', { stage: t(`stage_${stage.stage}`) })], final: [t('nav.confirm.submitFinal')] }}
        onSubmit=${(reason) => post(`/api/inspections/${stage.inspectionId}/submit-incomplete`, { reason })} />`}
    </div>
  </section>`;
}

// every stage's receipt (its photos by article), fetched together once the stages are known
// A photo whose bytes arrived but whose thumbnail is not made yet (a worker makes it shortly) is asked for again
// a few times: its thumbnail is requested only once the receipt says thumbReady (no 404 on the way).
const RECEIPT_RETRY_MS = 2000;
const RECEIPT_RETRIES = 30;

function useReceipts(inspectionIds) {
  const app = useApp();
  const [receipts, setReceipts] = useState({});
  const key = inspectionIds.join(',');
  useEffect(() => {
    let live = true;
    let timer = null;
    const load = (tries) => Promise.all(inspectionIds.map((id) => app.api.get(`/api/inspections/${id}/receipt`).then((r) => [id, r.data]).catch(() => [id, null])))
      .then((pairs) => {
        if (!live) return;
        setReceipts(Object.fromEntries(pairs));
        const waiting = pairs.some(([, r]) => (r?.photos || []).some(receiptPending));
        if (waiting && tries < RECEIPT_RETRIES) timer = setTimeout(() => load(tries + 1), RECEIPT_RETRY_MS);
      });
    load(0);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [key]);
  return receipts;
}

function FacilityReconcile({ roundId, facilityId }) {
  const app = useApp();
  const t = app.state.t;
  const view = useApi(`/api/facilities/${facilityId}/rounds/${roundId}/discrepancies`);
  const data = view.data;
  const receipts = useReceipts(reconcileStages(data).map((s) => s.inspectionId));
  const conclusions = useApi(`/api/facilities/${facilityId}/conclusions`);
  const signedBy = new Map((conclusions.data || []).map((c) => [c.inspectionId, c]));
  if (view.error) return html`<p class="banner error" role="alert">${app.state.sayError(view.error)}</p>`;
  if (!data) return html`<p class="muted">${t('loading')}</p>`;
  const { stages, rows } = reconcileTable(data, receipts);
  return html`<section data-testid="reconcile-view">
    <p class="row"><a class="btn" data-testid="report-link" href=${`#/office/report/${facilityId}/${roundId}`}>${t('report')}</a></p>
    <div class="grid2">${stages.map((s) => html`<${StageConclusion} key=${s.inspectionId} stage=${s}
      signed=${signedBy.get(s.inspectionId)} onChange=${() => { view.reload(); conclusions.reload(); }} />`)}</div>
    <table class="table reconcile" data-testid="reconcile-table">
      <thead><tr><th scope="col">${t('article')}</th>${stages.map((s) => html`<th scope="col" key=${s.stage}>${t(`stage_${s.stage}`)}</th>`)}</tr></thead>
      <tbody>${rows.map((row) => html`<tr key=${row.item} class=${row.wide ? 'wide-gap' : ''} data-testid="reconcile-row" data-item=${row.item} data-wide-gap=${String(row.wide)}>
          <th scope="row"><span class="num">${row.item}</span> ${row.title}</th>
          ${row.cells.map((cell, i) => html`<td key=${i} class=${cell.difference ? `diff-${cell.difference}` : ''}>
            <span class="grade-cell">${show(t, cell.value)}</span>${cell.difference && cell.difference !== 'same' ? html` <small class="muted">${t(`diff_${cell.difference}`)}</small>` : ''}
            <${Photos} photos=${cell.photos} /></td>`)}
        </tr>`)}</tbody>
    </table>
  </section>`;
}

export function Reconcile({ roundId, route }) {
  const app = useApp();
  const t = app.state.t;
  const inspections = useApi(`/api/inspections?roundId=${roundId}`);
  const facilities = facilitiesOfRound(inspections.data);
  const chosen = route.id;
  return html`<section class="split">
    <nav class="card facility-list" aria-label=${t('facility')}>
      <ul>${facilities.map((f) => html`<li key=${f.id}>
        <a href=${`#/office/reconcile/${f.id}`} class=${f.id === chosen ? 'tab active' : 'tab'} data-testid="reconcile-facility" data-facility-id=${f.id}>
          ${f.name} <small class="muted">${f.stages.map((s) => t(`stage_${s.stage}`)).join(' · ')}</small></a>
        <a class="report-mini" href=${`#/office/report/${f.id}/${roundId}`} data-testid="facility-report-link" data-facility-id=${f.id}
          title=${t('report')}>${t('report')}</a></li>`)}</ul>
    </nav>
    <div>${chosen ? html`<${FacilityReconcile} key=${chosen} roundId=${roundId} facilityId=${chosen} />` : html`<p class="muted card">${t('pickFacility')}</p>`}</div>
  </section>`;
}
