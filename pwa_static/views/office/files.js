// Export jobs shared by the exports tab and the report's PDF button: start, watch, download with the token.
import { useEffect, useState } from '../../vendor/preact/hooks.js';
import { useApp } from '../../lib/app_context.js';

export const ACTIVE = new Set(['queued', 'running']);

// The one job poller: asks for the job once a second while it is queued or running (a failed request is
// asked again after 3 s), hands every answer to onChange; returns the function that stops it.
export function watchJob(app, jobId, onChange) {
  let live = true;
  let timer = null;
  const poll = () =>
    app.api
      .get(`/api/exports/${jobId}`)
      .then((r) => {
        if (!live) return;
        onChange(r.data);
        if (ACTIVE.has(r.data.status)) timer = setTimeout(poll, 1000);
      })
      .catch(() => live && (timer = setTimeout(poll, 3000)));
  poll();
  return () => {
    live = false;
    clearTimeout(timer);
  };
}

// A job's latest state in a component (the report's PDF button).
export function useJob(jobId) {
  const app = useApp();
  const [job, setJob] = useState(null);
  useEffect(() => (jobId ? watchJob(app, jobId, setJob) : undefined), [jobId]);
  return job;
}

// Start an export job (POST /api/exports with `body`), wait until it ended, download its file; throws when
// the job failed (the improvement plan's and the term report's PDF buttons).
export async function exportAndDownload(app, body) {
  const started = (await app.api.post('/api/exports', body)).data;
  const job = ACTIVE.has(started.status)
    ? await new Promise((resolve) => {
        const stop = watchJob(app, started.id, (latest) => {
          if (ACTIVE.has(latest.status)) return;
          stop();
          resolve(latest);
        });
      })
    : started;
  if (job.status !== 'done') throw new Error(job.error || job.status);
  await download(app, job);
}

// The file needs the bearer token: fetched through the api, then handed to the browser as a download.
export async function download(app, job) {
  const { blob } = await app.api.blob(job.downloadUrl);
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = job.filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function size(bytes) {
  if (bytes == null) return '';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
