// The only wiring place: open the database, build the state, start the sync and upload engines, render.
import { html, render } from './lib/html.js';
import { openAppDb } from './db/open.js';
import { AuthExpired, createApi } from './lib/api.js';
import { AppContext } from './lib/app_context.js';
import { receiptInspections } from './lib/inspection.js';
import { appVersion, registerServiceWorker, storageInfo } from './sw-bridge.js';
import { createActions } from './store/actions.js';
import { createAppState, parseRoute } from './store/state.js';
import { createSyncEngine } from './sync/engine.js';
import { createUploadQueue } from './upload/queue.js';
import { Root } from './views/root.js';

const RECEIPT_POLL_MS = 3000;

async function main() {
  performance.mark('fc-start');
  const state = createAppState();
  document.documentElement.lang = state.lang.value === 'en' ? 'en' : 'zh-CN';
  const [db, version] = await Promise.all([
    openAppDb({ onBlocking: () => (state.update.value = { ...state.update.value, ready: true }) }),
    appVersion(),
  ]);
  const api = createApi(() => state.session.value?.token);
  const engines = {};
  const actions = createActions({ state, db, api, engines });
  actions.applyComfort();
  let bridge = { applyUpdate: async () => {}, requestSync: () => {} };
  let receiptTimer = null;

  const authExpired = () => {
    state.authExpired.value = true; // the queue and the photos stay untouched
  };

  async function fetchReceipts() {
    // the receipt adds the photos' states and flags (lib/inspection.js: receiptInspections says whose)
    if (!state.session.value?.token) return; // signed out meanwhile: nothing to ask, and no token to ask with
    const inspections = receiptInspections({
      me: state.session.value?.user,
      assignments: state.assignments.value,
      photos: state.photos.value,
      confirmed: state.confirmed.value,
    });
    const receipts = new Map(state.receipts.value);
    for (const id of inspections) {
      const response = await api.get(`/api/inspections/${id}/receipt`);
      receipts.set(id, response.data);
      await engines.upload.applyReceipt(response.data);
    }
    state.receipts.value = receipts;
    await db.put('meta', [...receipts], 'receipts');
    await actions.refresh();
    // photos the server has received but not yet stored: ask again shortly
    clearTimeout(receiptTimer);
    const waiting = [...state.photos.value.values()].some((p) => p.state === 'received');
    if (waiting && navigator.onLine) receiptTimer = setTimeout(() => fetchReceipts().catch(() => {}), RECEIPT_POLL_MS);
  }

  engines.upload = createUploadQueue({
    db,
    api,
    hooks: {
      changed: () => actions.refresh(),
      canUpload: () => Boolean(state.session.value?.token) && !state.authExpired.value,
      progress: (photoId, sent, total) => {
        const next = new Map(state.progress.value);
        next.set(photoId, total ? sent / total : 0);
        state.progress.value = next;
      },
      authExpired,
      error: (err) => {
        state.sync.value = { ...state.sync.value, error: { kind: 'network', message: String(err?.message || err) } };
        setTimeout(() => engines.upload.kick(), 5000);
      },
    },
  });

  engines.sync = createSyncEngine({
    db,
    api,
    hooks: {
      changed: () => actions.refresh(),
      standardsChanged: () => actions.loadStandards(),
      status: (patch) => (state.sync.value = { ...state.sync.value, ...patch }),
      authExpired,
      requestBackgroundSync: () => bridge.requestSync(),
      canSync: () => Boolean(state.session.value?.token) && !state.authExpired.value && navigator.onLine,
      appVersion: () => version,
      afterSync: async () => {
        await actions.fetchAssignments().catch((err) => {
          if (err instanceof AuthExpired) throw err;
        });
        await fetchReceipts();
        await actions.cacheTeamThumbs();
        engines.upload.kick().then(() => fetchReceipts().catch(() => {}));
        state.storage.value = await storageInfo();
      },
    },
  });
  let soon = null;
  engines.syncSoon = () => {
    clearTimeout(soon);
    soon = setTimeout(() => engines.sync.syncNow('change'), 300);
  };

  const app = {
    state,
    actions,
    engines,
    api,
    async applyUpdate() {
      state.update.value = { ...state.update.value, applying: true };
      await engines.upload.pause(); // an upload in flight resumes from its offset after the reload
      await bridge.applyUpdate();
    },
  };

  window.addEventListener('hashchange', () => (state.route.value = parseRoute(location.hash)));
  const setOnline = () => (state.online.value = navigator.onLine);
  window.addEventListener('online', setOnline);
  window.addEventListener('offline', setOnline);

  const [, , , receipts] = await Promise.all([
    actions.loadSession(),
    actions.refresh(),
    actions.loadStandards(),
    db.get('meta', 'receipts'),
    actions.loadTeamThumbs(),
    actions.loadDeviceName(),
  ]);
  state.receipts.value = new Map(receipts || []);
  performance.mark('fc-data');
  const root = document.getElementById('app');
  root.textContent = ''; // the boot message
  render(html`<${AppContext.Provider} value=${app}><${Root} /><//>`, root);
  document.body.dataset.ready = 'true';
  performance.mark('fc-rendered');

  engines.sync.start();
  storageInfo({ ask: true }).then((info) => (state.storage.value = info));
  registerServiceWorker({
    onUpdateReady: () => (state.update.value = { ...state.update.value, ready: true }),
    onOfflineReady: () => {
      state.update.value = { ...state.update.value, offlineReady: true };
      setTimeout(() => (state.update.value = { ...state.update.value, offlineReady: false }), 8000);
    },
    onSyncRequest: () => engines.sync.syncNow('background-sync'),
  })
    .then((b) => (bridge = b))
    .catch((err) => console.warn('service worker not registered', err));
  // The first sync and upload wait for the first paint and an idle moment (at most 1.5 s): started at once, the
  // pull's work ran beside the first screen's and made one long task of both (Lighthouse, 4× CPU: 242 ms of
  // blocking time on the assignments screen).
  afterFirstPaint(() => {
    engines.sync.syncNow('start');
    engines.upload.kick();
  });
}

function afterFirstPaint(fn) {
  requestAnimationFrame(() =>
    setTimeout(() => {
      if ('requestIdleCallback' in window) requestIdleCallback(fn, { timeout: 1500 });
      else setTimeout(fn, 50);
    }, 0),
  );
}

main().catch((err) => {
  console.error(err);
  document.getElementById('app').textContent = `启动失败 / failed to start: ${err.message}`;
});
