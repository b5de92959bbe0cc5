// Export jobs shared by the exports tab and the report's PDF button: start, watch, download with the token.
import { useEffect, useState } from '../../vendor/preact/hooks.js';

export const ACTIVE = new Set(['queued', 'running']);

// Poll a job until it is done or failed (once a second); returns the latest state.
export function useJob(app, jobId) {
  const [job, setJob] = useState(null);
  useEffect(() => {
    if (!jobId) return undefined;
    let live = true;
    let timer = null;
    const poll = () =>
      app.api
        .get(`/api/exports/${jobId}`)
        .then((r) => {
          if (!live) return;
          setJob(r.data);
          if (ACTIVE.has(r.data.status)) timer = setTimeout(poll, 1000);
        })
        .catch(() => live && (timer = setTimeout(poll, 3000)));
    poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [jobId]);
  return job;
}

// The file needs the bearer token: fetched, then handed to the browser as a download.
export async function download(app, job) {
  const token = app.state.session.value?.token;
  const response = await fetch(job.downloadUrl, { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const blob = await response.blob();
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
