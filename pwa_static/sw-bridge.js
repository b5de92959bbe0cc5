// The only module that touches navigator.serviceWorker and navigator.storage.
export async function registerServiceWorker({ onUpdateReady, onOfflineReady, onSyncRequest }) {
  const none = { applyUpdate: async () => {}, requestSync: () => {}, checkForUpdate: async () => {} };
  if (!('serviceWorker' in navigator)) return none;
  let updating = false;
  const registration = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
  const watch = (worker) => {
    worker?.addEventListener('statechange', () => {
      if (worker.state !== 'installed') return;
      if (navigator.serviceWorker.controller) onUpdateReady();
      else onOfflineReady();
    });
  };
  if (registration.waiting && navigator.serviceWorker.controller) onUpdateReady();
  watch(registration.installing);
  registration.addEventListener('updatefound', () => watch(registration.installing));
  navigator.serviceWorker.addEventListener('message', (event) => {
    if (event.data?.type === 'sync') onSyncRequest();
  });
  // Reload only for an update the user accepted (the first install's claim() must not reload the page).
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (updating) location.reload();
  });
  setInterval(() => registration.update().catch(() => {}), 60 * 60 * 1000);
  return {
    async applyUpdate() {
      const waiting = registration.waiting;
      if (!waiting) return;
      updating = true;
      waiting.postMessage({ type: 'SKIP_WAITING' });
    },
    requestSync() {
      registration.sync?.register('fieldcheck-sync').catch(() => {});
    },
    checkForUpdate: () => registration.update(),
  };
}

export async function appVersion() {
  const keys = (await globalThis.caches?.keys?.().catch(() => [])) || [];
  const key = keys.find((k) => k.startsWith('fieldcheck-static-'));
  return key ? key.slice('fieldcheck-static-'.length) : 'dev';
}

export async function storageInfo({ ask = false } = {}) {
  const storage = navigator.storage;
  if (!storage) return { usage: 0, quota: 0, persisted: null };
  let persisted = await storage.persisted?.();
  if (!persisted && ask) persisted = await storage.persist?.().catch(() => false);
  const { usage = 0, quota = 0 } = (await storage.estimate?.()) || {};
  return { usage, quota, persisted: Boolean(persisted) };
}
