// Photos: bytes stay in IndexedDB until the receipt says `stored`. States: queued -> uploading ->
// received -> stored (or rejected). One upload at a time; a dropped connection resumes from the server's offset.
import { STRICT } from '../db/open.js';
import { AuthExpired, NetworkError } from '../lib/api.js';
import { UploadGone, UploadRefused, createUpload, sendBytes } from './transport.js';

export function createUploadQueue({ db, api, hooks }) {
  let running = null;
  let current = null;
  let paused = false;

  async function update(photoId, patch) {
    const tx = db.transaction('photos', 'readwrite', STRICT);
    const photo = await tx.store.get(photoId);
    if (photo) await tx.store.put({ ...photo, ...patch });
    await tx.done;
    hooks.changed();
  }

  async function uploadOne(photo) {
    let target = photo;
    if (!target.uploadUrl) {
      const created = await createUpload(api, target);
      if (created.complete) {
        await update(photo.photoId, { state: 'received', sent: photo.size });
        return;
      }
      await update(photo.photoId, { uploadUrl: created.uploadUrl });
      target = { ...target, uploadUrl: created.uploadUrl };
    }
    await update(photo.photoId, { state: 'uploading' });
    try {
      await sendBytes({
        photo: target,
        api,
        onStart: (u) => {
          current = u;
        },
        onProgress: (sent, total) => hooks.progress(photo.photoId, sent, total),
      });
      await update(photo.photoId, { state: 'received', sent: photo.size });
    } catch (err) {
      if (err instanceof UploadGone) {
        await update(photo.photoId, { uploadUrl: null, state: 'queued' });
        throw new NetworkError('upload expired; created again on the next try');
      }
      if (err instanceof UploadRefused) {
        await update(photo.photoId, { state: 'rejected', reason: err.message });
        return;
      }
      await update(photo.photoId, { state: 'queued' });
      throw err;
    } finally {
      current = null;
    }
  }

  async function run() {
    for (;;) {
      if (paused || !navigator.onLine || !hooks.canUpload()) return;
      const [photos, queue] = await Promise.all([db.getAll('photos'), db.getAll('mutations')]);
      // the server knows a photo once its addPhoto left the queue (a pull's lastMutationIds reported it, after
      // the push that sent it); only then may its bytes be sent
      const unsent = new Set(queue.filter((m) => m.name === 'addPhoto').map((m) => m.args.photoId));
      const next = photos.find(
        (p) => !unsent.has(p.photoId) && p.blob && (p.state === 'queued' || p.state === 'uploading'),
      );
      if (!next) return;
      try {
        await uploadOne(next);
      } catch (err) {
        if (paused) return; // stopped on purpose (sign-out, update): nothing went wrong
        if (err instanceof AuthExpired) hooks.authExpired();
        else hooks.error(err);
        return;
      }
    }
  }

  function kick() {
    if (running) return running;
    running = run().finally(() => {
      running = null;
    });
    return running;
  }

  // Before an update reload and at sign-out: stop without terminating, so the upload resumes from its offset
  // later; returns once no upload request is in flight.
  async function pause() {
    paused = true;
    if (current) await current.stop();
    await running?.catch(() => {});
  }

  function resume() {
    paused = false;
    kick();
  }

  // The receipt decides when bytes may leave the device: only a `stored` photo drops its original.
  async function applyReceipt(receipt) {
    const tx = db.transaction('photos', 'readwrite', STRICT);
    for (const entry of receipt.photos) {
      const photo = await tx.store.get(entry.photoId);
      if (!photo) continue;
      const patch = { serverState: entry.state, flags: entry.flags || [], reason: entry.reason ?? photo.reason };
      if (entry.state === 'stored') Object.assign(patch, { state: 'stored', blob: null });
      else if (entry.state === 'rejected') Object.assign(patch, { state: 'rejected' });
      else if (entry.state === 'received' && photo.state !== 'stored') patch.state = 'received';
      else if (entry.state === 'awaiting_upload' && photo.blob && photo.state === 'received') {
        Object.assign(patch, { state: 'queued', uploadUrl: null }); // the server lost it: send again
      }
      await tx.store.put({ ...photo, ...patch });
    }
    await tx.done;
  }

  return { kick, pause, resume, applyReceipt, isBusy: () => Boolean(running) };
}
