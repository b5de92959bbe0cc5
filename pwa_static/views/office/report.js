// The facility's report for a round as a printable page: the server's HTML (backend/reports, styled by
// /static/report.css), the browser's print dialog, and the same report as a PDF built by the server.
import { useEffect, useState } from '../../vendor/preact/hooks.js';
import { html } from '../../lib/html.js';
import { useApi } from './data.js';
import { download, useJob } from './files.js';
import { useApp } from '../../lib/app_context.js';

export function Report({ facilityId, roundId, kind = 'facility-report', back = null }) {
  const app = useApp();
  const t = app.state.t;
  const lang = app.state.lang.value; // the server writes the report (and its PDF) in the reader's language
  const query = facilityId ? `facilityId=${facilityId}&roundId=${roundId}` : `roundId=${roundId}`;
  const report = useApi(`/api/printables/${kind}?${query}&lang=${lang}`);
  const [jobId, setJobId] = useState(null);
  const [error, setError] = useState(null);
  const job = useJob(jobId);
  useEffect(() => {
    if (report.data) document.title = report.data.title;
    return () => (document.title = t('appName'));
  }, [report.data]);
  useEffect(() => {
    if (job?.status === 'done') download(app, job).catch((err) => setError(app.state.sayError(err)));
  }, [job?.status]);
  async function pdf() {
    setError(null);
    try {
      const r = await app.api.post('/api/exports', { kind, format: 'pdf', roundId, lang, ...(facilityId ? { facilityId } : {}) });
      setJobId(r.data.id);
    } catch (err) {
      setError(app.state.sayError(err));
    }
  }
  const printing = job && (job.status === 'queued' || job.status === 'running');
  return html`<section class="report-page" data-testid="report-page">
    <div class="row no-print">
      <a class="btn" href=${back || `#/office/reconcile/${facilityId}`}>← ${t('reportBack')}</a>
      <button type="button" class="btn primary" data-testid="report-print" onClick=${() => window.print()}>${t('print')}</button>
      <button type="button" class="btn" data-testid="report-pdf" disabled=${printing} onClick=${pdf}>
        ${printing ? `${t('pdfMaking')} ${Math.round((job.progress || 0) * 100)}%` : t('pdf')}</button>
      ${job?.status === 'done' && html`<button type="button" class="btn small" data-testid="report-pdf-download"
        onClick=${() => download(app, job)}>${t('download')} ${job.filename}</button>`}
      ${job?.status === 'failed' && html`<span class="warn-text" role="alert">${job.error}</span>`}
      ${error && html`<span class="warn-text" role="alert">${error}</span>`}
    </div>
    ${report.error && html`<p class="banner error" role="alert">${app.state.sayError(report.error)}</p>`}
    ${!report.data && !report.error && html`<p class="muted">${t('loading')}</p>`}
    ${report.data && html`<div class="printable" dangerouslySetInnerHTML=${{ __html: report.data.html }}></div>`}
  </section>`;
}
