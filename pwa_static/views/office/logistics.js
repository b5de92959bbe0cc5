// School logistics for the office (seed 004): each school in its scope with its routine visits at the chosen
// round (submitted of scheduled, items passed), its fixes of critical items (open, overdue, closed with the photo
// of the fix), the staff appraisal, and the term report as PDF or XLSX (export jobs, in the reader's language).
import { useEffect, useState } from '../../vendor/preact/hooks.js';
import { html } from '../../lib/html.js';
import { useApi } from './data.js';
import { Appraisal } from '../appraisal.js';
import { exportAndDownload } from './files.js';
import { useApp } from '../../lib/app_context.js';

const SUBMITTED = new Set(['submitted', 'accepted']);

// one school's schedule and fixes at the round (404 schedule_not_found: no routine inspections there)
function useSchool(facilityId, roundId) {
  const app = useApp();
  const [state, setState] = useState({ schedule: null, fixes: [], missing: false, error: null });
  useEffect(() => {
    let live = true;
    const base = `/api/schools/${facilityId}/rounds/${roundId}`;
    Promise.all([app.api.get(`${base}/schedule`), app.api.get(`${base}/fixes`)])
      .then(([s, f]) => live && setState({ schedule: s.data, fixes: f.data, missing: false, error: null }))
      .catch((err) => live && setState({ schedule: null, fixes: [], missing: err?.problem?.code === 'schedule_not_found', error: err }));
    return () => { live = false; };
  }, [facilityId, roundId]);
  return state;
}

function SchoolRow({ school, roundId, open, onOpen }) {
  const app = useApp();
  const t = app.state.t;
  const { schedule, fixes, missing, error } = useSchool(school.id, roundId);
  if (missing) return html`<tr data-testid="logistics-school" data-facility-id=${school.id} data-scheduled="false">
    <td>${school.name}</td><td colspan="4" class="muted">${t('logisticsNoSchedule')}</td></tr>`;
  if (error) return html`<tr><td>${school.name}</td><td colspan="4" class="warn-text">${app.state.sayError(error)}</td></tr>`;
  if (!schedule) return html`<tr><td>${school.name}</td><td colspan="4" class="muted">${t('loading')}</td></tr>`;
  const done = schedule.visits.filter((v) => SUBMITTED.has(v.status));
  const passed = done.reduce((n, v) => n + v.passed, 0);
  const applicable = done.reduce((n, v) => n + v.applicable, 0);
  const openFixes = fixes.filter((f) => f.status === 'open');
  const overdue = openFixes.filter((f) => f.overdue);
  return html`<tr data-testid="logistics-school" data-facility-id=${school.id} data-scheduled="true"
      data-open-fixes=${openFixes.length} data-overdue=${overdue.length}>
    <td>${school.name}</td>
    <td data-testid="logistics-visits">${t('logisticsVisits', { done: done.length, total: schedule.visits.length, every: schedule.everyDays })}</td>
    <td>${applicable ? `${Math.round((passed / applicable) * 1000) / 10}%` : '—'}</td>
    <td data-testid="logistics-fixes">${t('logisticsFixes', { open: openFixes.length, overdue: overdue.length, closed: fixes.length - openFixes.length })}
      ${fixes.map((f) => html`<br key=${f.id} /><span data-testid="logistics-fix" data-item=${f.article} data-status=${f.status}
        class=${f.status === 'closed' ? 'ok-text' : f.overdue ? 'warn-text' : ''}>${f.article} ${f.title} · ${t('termFixDue')} ${f.dueOn}</span>`)}</td>
    <td class="actions"><button type="button" class=${open ? 'btn primary' : 'btn'} data-testid="logistics-open"
      aria-expanded=${open ? 'true' : 'false'} onClick=${onOpen}>${t('logisticsDetails')}</button></td>
  </tr>`;
}

function TermReport({ facilityId, roundId }) {
  const app = useApp();
  const t = app.state.t;
  const [busy, setBusy] = useState(null);
  const [error, setError] = useState(null);
  async function make(format) {
    setBusy(format);
    setError(null);
    try {
      await exportAndDownload(app, { kind: 'term-report', format, facilityId, roundId, lang: app.state.lang.value });
    } catch (err) {
      setError(app.state.sayError(err));
    } finally {
      setBusy(null);
    }
  }
  return html`<div class="row">
    <button type="button" class="btn" data-testid="office-term-pdf" disabled=${busy !== null} onClick=${() => make('pdf')}>
      ${busy === 'pdf' ? t('pdfMaking') : t('termReportPdf')}</button>
    <button type="button" class="btn" data-testid="office-term-xlsx" disabled=${busy !== null} onClick=${() => make('xlsx')}>${t('termReportXlsx')}</button>
    ${error && html`<p class="warn-text" role="alert">${error}</p>`}
  </div>`;
}

export function Logistics({ roundId }) {
  const app = useApp();
  const t = app.state.t;
  const facilities = useApi('/api/facilities');
  const [chosen, setChosen] = useState(null);
  const schools = (facilities.data || []).filter((f) => f.kind === 'school');
  const picked = schools.find((s) => s.id === chosen);
  return html`<section class="card" data-testid="logistics"><h2>${t('logisticsTitle')}</h2>
    <p class="muted">${t('logisticsHelp')}</p>
    ${facilities.error && html`<p class="banner error" role="alert">${app.state.sayError(facilities.error)}</p>`}
    ${facilities.data && schools.length === 0 ? html`<p class="muted">${t('logisticsNoSchools')}</p>` : html`
    <table class="table"><thead><tr><th scope="col">${t('logisticsSchool')}</th><th scope="col">${t('logisticsVisitsHead')}</th>
      <th scope="col">${t('termPassed')}</th><th scope="col">${t('termFixes')}</th><th scope="col">${t('actions')}</th></tr></thead>
      <tbody>${schools.map((s) => html`<${SchoolRow} key=${s.id + roundId} school=${s} roundId=${roundId}
        open=${chosen === s.id} onOpen=${() => setChosen(chosen === s.id ? null : s.id)} />`)}</tbody></table>`}
  </section>
  ${picked && html`<section class="card" data-testid="logistics-detail" data-facility-id=${picked.id}>
    <h2>${picked.name}</h2>
    <${TermReport} facilityId=${picked.id} roundId=${roundId} />
  </section>
  <${Appraisal} key=${picked.id + roundId} facilityId=${picked.id} roundId=${roundId} />`}`;
}
