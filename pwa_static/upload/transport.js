// The only module that touches tus: create through our POST /api/uploads, then resume from its uploadUrl.
import { HttpError, NetworkError } from '../lib/api.js';

const CHUNK = 1024 * 1024;
export class UploadGone extends Error {} // the server no longer knows the upload URL: create it again
export class UploadRefused extends Error {} // the bytes were refused for good (checksum, type, size)

export async function createUpload(api, photo) {
  const response = await api.post('/api/uploads', {
    photoId: photo.photoId,
    sha256: photo.sha256,
    size: photo.size,
    mime: photo.mime,
  });
  if (response.status === 200) return { complete: true };
  return { complete: false, uploadUrl: response.data.uploadUrl };
}

// tus-js-client is a UMD script (global `tus`): loaded on the first upload, not at start-up.
let tusLoaded = null;
function loadTus() {
  if (globalThis.tus) return Promise.resolve();
  tusLoaded ??= new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = '/static/vendor/tus/tus.min.js';
    script.onload = () => resolve();
    script.onerror = () => {
      tusLoaded = null;
      reject(new Error('tus-js-client did not load'));
    };
    document.head.append(script);
  });
  return tusLoaded;
}

// Send the bytes from the server's offset; resolves when the last byte is acknowledged. `onStart` receives the
// handle whose stop() aborts the request in flight (no termination: the upload resumes from its offset later)
// and ends the promise with a NetworkError. Each request asks the api for its headers, which it refuses while
// signing out.
export async function sendBytes({ photo, api, onProgress, onStart }) {
  await loadTus();
  return new Promise((resolve, reject) => {
    const upload = new globalThis.tus.Upload(photo.blob, {
      uploadUrl: photo.uploadUrl,
      chunkSize: CHUNK,
      retryDelays: [0, 1000, 3000, 5000],
      storeFingerprintForResuming: false,
      removeFingerprintOnSuccess: true,
      metadata: {},
      onBeforeRequest: async (request) => {
        for (const [name, value] of Object.entries(api.authHeaders())) request.setHeader(name, value);
      },
      onProgress: (sent, total) => onProgress(sent, total),
      onSuccess: () => resolve(),
      onError: (error) => {
        const status = error?.originalResponse?.getStatus?.() ?? 0;
        if (String(error?.message || '').includes('without an endpoint') || status === 404 || status === 410) {
          reject(new UploadGone(String(error.message)));
        } else if (status === 422 || status === 413 || status === 415) {
          // the refusal's code (sha256_mismatch, corrupt, upload_too_large, …): the app says it as photoRejected_<code>
          let code = '';
          try {
            code = JSON.parse(error.originalResponse.getBody() || '{}').code || '';
          } catch {
            code = '';
          }
          reject(new UploadRefused(code || `${status}`));
        } else if (status >= 400 && status < 500 && status !== 409 && status !== 423 && status !== 460) {
          reject(new HttpError(status, {}));
        } else {
          reject(error);
        }
      },
    });
    onStart?.({
      stop: async () => {
        await upload.abort(false).catch(() => {});
        reject(new NetworkError('upload paused'));
      },
    });
    upload.start();
  });
}
