// Exports of a round (answers, conclusions, rankings, discrepancies as XLSX or CSV), built by the server in
// the background: start one, watch its progress, download it when done.
import { useEffect, useState } from '../../vendor/preact/hooks.js';
import { html } from '../../lib/html.js';
import { formatTime } from '../../lib/format.js';
import { useApi } from './data.js';
import { ACTIVE, download, size } from './files.js';
import { useApp } from '../../lib/app_context.js';

const KINDS = ['answers', 'conclusions', 'rankings', 'discrepancies'];

function JobRow({ job }) {
  const app = useApp();
  const t = app.state.t;
  const [error, setError] = useState(null);
  const pct = Math.round((job.progress || 0) * 100);
  return html`<tr data-testid="export-job" data-export-id=${job.id} data-kind=${job.kind} data-format=${job.format} data-status=${job.status}>
    <td>${t(`export_${job.kind}`) || job.kind}</td><td>${job.format.toUpperCase()}</td>
    <td><span class=${`badge export-${job.status}`}>${t(`exportStatus_${job.status}`)}</span>
      ${job.error && html`<div class="warn-text" data-testid="export-error">${t('problem_export_failed')}</div>`}</td>
    <td><progress max="100" value=${pct} aria-label=${t('progress')}></progress> <small class="muted" data-testid="export-progress">${pct}%</small></td>
    <td>${job.rows || ''}</td><td>${size(job.size)}</td>
    <td>${formatTime(job.createdAt, app.state.lang.value)}</td>
    <td>${job.status === 'done' && html`<button type="button" class="btn small" data-testid="export-download"
        onClick=${() => download(app, job).catch((err) => setError(app.state.sayError(err)))}>${t('download')}</button>`}
      ${error && html`<span class="warn-text">${error}</span>`}</td>
  </tr>`;
}

export function Exports({ roundId }) {
  const app = useApp();
  const t = app.state.t;
  const jobs = useApi(`/api/exports?roundId=${roundId}`);
  const [kind, setKind] = useState('answers');
  const [format, setFormat] = useState('xlsx');
  const [error, setError] = useState(null);
  const busy = (jobs.data || []).some((j) => ACTIVE.has(j.status));
  useEffect(() => {
    if (!busy) return undefined;
    const timer = setTimeout(jobs.reload, 1000);
    return () => clearTimeout(timer);
  }, [jobs.data]);
  async function start(e) {
    e.preventDefault();
    setError(null);
    try {
      await app.api.post('/api/exports', { kind, format, roundId, lang: app.state.lang.value });
      jobs.reload();
    } catch (err) {
      setError(app.state.sayError(err));
    }
  }
  return html`<section data-testid="exports">
    <form class="card row" onSubmit=${start}>
      <label class="field inline"><span>${t('exportKind')}</span>
        <select data-testid="export-kind" value=${kind} onChange=${(e) => setKind(e.currentTarget.value)}>
          ${KINDS.map((k) => html`<option key=${k} value=${k}>${t(`export_${k}`)}</option>`)}</select></label>
      <label class="field inline"><span>${t('exportFormat')}</span>
        <select data-testid="export-format" value=${format} onChange=${(e) => setFormat(e.currentTarget.value)}>
          <option value="xlsx">XLSX (Excel)</option><option value="csv">CSV</option></select></label>
      <button type="submit" class="btn primary" data-testid="export-start">${t('exportStart')}</button>
      <p class="muted">${t('exportHint')}</p>
    </form>
    ${error && html`<p class="banner error" role="alert">${error}</p>`}
    <section class="card"><h2>${t('exportJobs')}</h2>
      ${jobs.data && jobs.data.length === 0 && html`<p class="muted">${t('exportNone')}</p>`}
      ${jobs.data && jobs.data.length > 0 && html`<table class="table" data-testid="export-jobs"><thead><tr>
        <th scope="col">${t('exportKind')}</th><th scope="col">${t('exportFormat')}</th><th scope="col">${t('status')}</th>
        <th scope="col">${t('progress')}</th><th scope="col">${t('exportRows')}</th><th scope="col">${t('exportSize')}</th>
        <th scope="col">${t('exportCreated')}</th><th scope="col">${t('download')}</th></tr></thead>
        <tbody>${jobs.data.map((job) => html`<${JobRow} key=${job.id} job=${job} />`)}</tbody></table>`}
    </section>
  </section>`;
}
