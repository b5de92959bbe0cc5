// The team's evidence on every device: thumbnails of photos stored on the server (taken on other devices),
// fetched through their short-lived signed URLs and kept in IndexedDB for offline use, within a budget.
// Photos of this device show the thumbnail it made itself and are not fetched.
import { HttpError } from '../lib/api.js';

export const THUMB_BUDGET_BYTES = 64 * 1024 * 1024;

export async function thumbUsage(db) {
  const all = await db.getAll('thumbs');
  return { count: all.length, bytes: all.reduce((n, t) => n + (t.size || 0), 0), budget: THUMB_BUDGET_BYTES };
}

export async function loadThumbs(db) {
  const all = await db.getAll('thumbs');
  return new Map(all.map((t) => [t.photoId, t.blob]));
}

// `wanted`: [{photoId, inspectionId}] stored on the server with their thumbnail made, newest first. Fetches
// what is missing until the budget is reached; thumbnails of photos no longer wanted (removed, another
// user's scope) are dropped first, so the budget holds the current work.
export async function cacheThumbs({ db, api, wanted, budget = THUMB_BUDGET_BYTES }) {
  const keep = new Set(wanted.map((w) => w.photoId));
  const held = await db.getAll('thumbs');
  for (const t of held) if (!keep.has(t.photoId)) await db.delete('thumbs', t.photoId);
  let used = held.filter((t) => keep.has(t.photoId)).reduce((n, t) => n + (t.size || 0), 0);
  const have = new Set(held.map((t) => t.photoId));
  let fetched = 0;
  for (const w of wanted) {
    if (have.has(w.photoId)) continue;
    if (used >= budget) break;
    // the API answers with a redirect to the signed URL, which fetch follows
    let blob;
    try {
      ({ blob } = await api.blob(`/api/photos/${w.photoId}/thumb`));
    } catch (err) {
      if (err instanceof HttpError) continue; // gone or not viewable now: the others still come
      throw err;
    }
    if (used + blob.size > budget) break;
    await db.put('thumbs', { photoId: w.photoId, inspectionId: w.inspectionId, blob, size: blob.size, at: new Date().toISOString() });
    used += blob.size;
    fetched += 1;
  }
  return fetched;
}
