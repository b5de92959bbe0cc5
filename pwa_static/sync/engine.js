// Push then pull (DESIGN §6): on reconnect, on a timer, on demand and when the service worker relays a
// Background Sync. Network errors and 5xx back off; `rejected` results are kept for the user, never retried.
import { COOKIE, STRICT } from '../db/open.js';
import { AuthExpired, HttpError, NetworkError } from '../lib/api.js';
import { DEVICE_NAME_MAX, deviceModel, givenDeviceName } from '../lib/device.js';
import { acknowledge, pendingMutations, renumberFrom } from './queue.js';

const PUSH_BATCH = 100;
const TIMER_MS = 30_000;
const MAX_BACKOFF_MS = 60_000;
const KEEP_REJECTIONS = 50;

// The photos a device still has to send: their bytes are here and the server has neither stored nor
// refused them (a rejected photo is never sent again, so it is not queued).
export function heldPhotos(photos) {
  return photos.filter((p) => p.blob && p.state !== 'stored' && p.state !== 'rejected');
}

export function createSyncEngine({ db, api, hooks }) {
  let running = null;
  let again = false;
  let failures = 0;
  let retryTimer = null;
  let intervalTimer = null;
  let paused = false; // while signing out

  async function meta(key) {
    return db.get('meta', key);
  }

  async function clientState() {
    const queued = await db.count('mutations');
    const photos = heldPhotos(await db.getAll('photos'));
    const name = (givenDeviceName() || deviceModel()).slice(0, DEVICE_NAME_MAX);
    return {
      appVersion: hooks.appVersion(),
      ...(name ? { deviceName: name } : {}),
      queuedMutations: queued,
      queuedPhotos: photos.length,
      queuedBytes: photos.reduce((sum, p) => sum + (p.size || 0), 0),
    };
  }

  async function recordRejections(batch, results) {
    const rejected = results.filter((r) => r.status === 'rejected');
    if (!rejected.length) return;
    const byId = new Map(batch.map((m) => [m.id, m]));
    const tx = db.transaction(['meta', 'photos'], 'readwrite', STRICT);
    const list = (await tx.objectStore('meta').get('rejections')) || [];
    for (const r of rejected) {
      const m = byId.get(r.id) || {};
      // sent again after a restart before the pull dropped it: the server repeats its answer, said once
      if (list.some((seen) => seen.id === r.id && seen.name === m.name)) continue;
      list.unshift({ id: r.id, name: m.name, args: m.args, reason: r.reason, detail: r.detail, params: r.params || {}, at: new Date().toISOString() });
      if (m.name === 'addPhoto') {
        const photo = await tx.objectStore('photos').get(m.args.photoId);
        if (photo) await tx.objectStore('photos').put({ ...photo, state: 'rejected', reason: r.reason });
      }
    }
    await tx.objectStore('meta').put(list.slice(0, KEEP_REJECTIONS), 'rejections');
    await tx.done;
  }

  // addPhoto acknowledged: the server expects the bytes (uploadRequired) or already has them.
  async function notePhotoAcks(batch, results) {
    const byId = new Map(results.map((r) => [r.id, r]));
    const tx = db.transaction('photos', 'readwrite', STRICT);
    for (const m of batch) {
      if (m.name !== 'addPhoto') continue;
      const r = byId.get(m.id);
      if (!r || r.status !== 'applied') continue;
      const photo = await tx.store.get(m.args.photoId);
      if (!photo || photo.state === 'rejected') continue;
      // the server already holds these bytes (the same photo uploaded before): nothing to send
      if (r.uploadRequired === false) await tx.store.put({ ...photo, state: 'received' });
    }
    await tx.done;
  }

  // What the server acknowledged to this session's pushes, per client. Acknowledged mutations stay queued (and
  // replayed on the view) until a pull reports them in lastMutationIds, as in the reference client
  // (sync/client.py): dropped at the push, a tick left the screen until the pull brought it, and a device
  // closed in between showed it nowhere offline though the server had it.
  let acked = { clientId: null, id: 0 };

  async function push() {
    const clientId = await meta('clientId');
    if (acked.clientId !== clientId) acked = { clientId, id: 0 };
    for (;;) {
      const queue = (await pendingMutations(db)).filter((m) => m.id > acked.id);
      if (!queue.length) return;
      const batch = queue.slice(0, PUSH_BATCH);
      const body = {
        protocolVersion: 1,
        clientGroupId: await meta('clientGroupId'),
        clientId,
        mutations: batch.map(({ id, name, hlc, args }) => ({ id, name, hlc, args })),
        clientState: await clientState(),
      };
      let response;
      try {
        response = await api.post('/api/sync/push', body);
      } catch (err) {
        if (err instanceof HttpError && err.status === 409 && err.problem.code === 'mutation_gap') {
          const expected = err.problem.expected ?? err.problem.expectedId;
          if (typeof expected !== 'number') throw err;
          await acknowledge(db, acked.id); // the server has these: only the rest is renumbered
          await renumberFrom(db, expected);
          acked.id = expected - 1;
          continue;
        }
        throw err;
      }
      const { lastMutationId, results } = response.data;
      await recordRejections(batch, results || []);
      await notePhotoAcks(batch, results || []);
      acked.id = Math.max(acked.id, lastMutationId);
      hooks.changed();
      if (lastMutationId < batch[batch.length - 1].id) return; // the server stopped early; pull first
    }
  }

  // No lost tick: a page (a clinic's first pull is 816+ ops) is applied in a transaction on `state` alone, so
  // a tap's enqueue (`meta` + `mutations`) never waits behind it. It waited while the screen already showed
  // the tap, and a tab closed meanwhile lost it. The patch and the cookie (kept in `state` for this) commit
  // together: a crash leaves the old rows with the old cookie or the new with the new, and a reset page never
  // shows half a store. What the page acknowledges leaves the queue after, in a short transaction of its
  // own: a crash in between leaves those mutations queued, re-sent by the next push, which the server skips
  // (id <= its lastMutationId) and acknowledges. (Chunks with the cookie last would still make a tap wait a
  // chunk, and a crash between the chunks of a reset page would leave a partial store shown offline.)
  async function applyPage(page, clientId) {
    const tx = db.transaction('state', 'readwrite', STRICT);
    if (page.reset) await tx.store.clear();
    for (const op of page.patch) {
      if (op.op === 'put') await tx.store.put(op.value, op.key);
      else if (op.op === 'del') await tx.store.delete(op.key);
    }
    for (const conflict of page.conflicts || []) await tx.store.put(conflict, `conflict/${conflict.id}`);
    await tx.store.put(page.cookie, COOKIE);
    await tx.done;
    const last = page.lastMutationIds?.[clientId];
    if (typeof last === 'number') await acknowledge(db, last);
  }

  async function pull() {
    const clientId = await meta('clientId');
    for (let pages = 0; pages < 100; pages += 1) {
      const response = await api.post('/api/sync/pull', {
        protocolVersion: 1,
        clientGroupId: await meta('clientGroupId'),
        cookie: (await db.get('state', COOKIE)) ?? null,
      });
      await applyPage(response.data, clientId);
      hooks.changed();
      if (!response.data.hasMore) return;
    }
  }

  // Standard bundles of the inspections held here, kept for offline use (revalidated by ETag).
  async function fetchStandards() {
    const keys = await db.getAllKeys('state', IDBKeyRange.bound('standardRef/', 'standardRef/\uffff'));
    for (const key of keys) {
      const ref = await db.get('state', key);
      const held = await db.get('standards', ref.id);
      const headers = held?.etag ? { 'If-None-Match': held.etag } : {};
      const response = await api.get(ref.href || `/api/standards/${ref.id}`, headers);
      const checklistHeaders = held?.checklistEtag ? { 'If-None-Match': held.checklistEtag } : {};
      // the standard's submit rules as data (the server's checklist), kept beside it: counted against offline
      const rules = await api.get(`/api/standards/${ref.id}/checklist`, checklistHeaders);
      if (response.status === 200 || rules.status === 200) {
        await db.put('standards', {
          ...held,
          id: ref.id,
          ...(response.status === 200 ? { etag: response.headers.get('etag'), bundle: response.data } : {}),
          ...(rules.status === 200 ? { checklistEtag: rules.headers.get('etag'), checklist: rules.data } : {}),
        });
        hooks.standardsChanged();
      }
    }
  }

  function schedule(delay) {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => syncNow('retry'), delay);
    hooks.status({ nextRetryAt: Date.now() + delay });
  }

  async function run(reason) {
    hooks.status({ running: true, reason });
    try {
      await push();
      await pull();
      await fetchStandards();
      await hooks.afterSync();
      failures = 0;
      const now = new Date().toISOString();
      await db.put('meta', now, 'lastSyncAt');
      hooks.status({ running: false, lastSyncAt: now, error: null, nextRetryAt: null });
    } catch (err) {
      if (err instanceof AuthExpired) {
        hooks.status({ running: false, error: { kind: 'auth' } });
        hooks.authExpired();
        return;
      }
      const retryable = err instanceof NetworkError || (err instanceof HttpError && err.retryable);
      const error = err instanceof HttpError
        ? { kind: 'http', status: err.status, code: err.problem.code, params: err.problem.params, message: err.message }
        : err instanceof NetworkError
          ? { kind: 'network', message: err.message }
          : { kind: 'bug', message: String(err?.message || err) };
      hooks.status({ running: false, error });
      if (err instanceof NetworkError) hooks.requestBackgroundSync();
      if (retryable) {
        failures += 1;
        const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(failures, 6));
        schedule(base / 2 + Math.random() * (base / 2));
      } else if (error.kind === 'bug') {
        console.warn('sync stopped by an unexpected error', err);
      }
    }
  }

  async function syncNow(reason = 'manual') {
    if (paused || !hooks.canSync()) return;
    if (running) {
      again = true;
      return running;
    }
    clearTimeout(retryTimer);
    running = run(reason).finally(() => {
      running = null;
      if (again) {
        again = false;
        syncNow('again');
      }
    });
    return running;
  }

  function start() {
    intervalTimer = setInterval(() => {
      if (navigator.onLine) syncNow('timer');
    }, TIMER_MS);
    window.addEventListener('online', () => syncNow('online'));
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && navigator.onLine) syncNow('visible');
    });
  }

  function stop() {
    clearInterval(intervalTimer);
    clearTimeout(retryTimer);
  }

  // Signing out: no new sync starts, and the one running ends with the token it has before that token is
  // revoked (else its pull would meet a 401 and report the sign-in as expired).
  async function pause() {
    paused = true;
    clearTimeout(retryTimer);
    while (running) await running.catch(() => {});
  }

  function resume() {
    paused = false;
  }

  return { syncNow, start, stop, pull, pause, resume };
}
