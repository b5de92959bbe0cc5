// fieldcheck service worker. The server stamps VERSION (a digest of the app's files) and PRECACHE.
// It never caches the API's data (that lives in IndexedDB), except standard bundles for offline use.
const VERSION = '__FIELDCHECK_VERSION__';
const PRECACHE = "__FIELDCHECK_PRECACHE__";
const STATIC_CACHE = `fieldcheck-static-${VERSION}`;
// the app's files not precached (the office's screens and texts, the large icons: backend/web/assets.py
// ON_DEMAND), kept here once loaded, per version like the precache
const ON_DEMAND_CACHE = `fieldcheck-ondemand-${VERSION}`;
const STANDARDS_CACHE = 'fieldcheck-standards';
const VERSIONED = ['fieldcheck-static-', 'fieldcheck-ondemand-'];

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(STATIC_CACHE);
      await cache.addAll(PRECACHE.map((url) => new Request(url, { cache: 'reload' })));
      await carryOnDemand();
    })(),
  );
});

// What this device loaded on demand under an earlier version (an office user's screens) is fetched again for
// this one, so it still opens offline after an update; a file gone since is skipped.
async function carryOnDemand() {
  const urls = new Set();
  for (const key of await caches.keys()) {
    if (!key.startsWith('fieldcheck-ondemand-') || key === ON_DEMAND_CACHE) continue;
    for (const request of await (await caches.open(key)).keys()) urls.add(new URL(request.url).pathname);
  }
  if (!urls.size) return;
  const cache = await caches.open(ON_DEMAND_CACHE);
  await Promise.allSettled([...urls].map((url) => cache.add(new Request(url, { cache: 'reload' }))));
}

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (VERSIONED.some((prefix) => key.startsWith(prefix)) && key !== STATIC_CACHE && key !== ON_DEMAND_CACHE) {
          await caches.delete(key);
        }
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('message', (event) => {
  if (event.data?.type === 'SKIP_WAITING') self.skipWaiting();
});

// Background Sync: wake an open page to push and pull (the page owns the queue and the token).
self.addEventListener('sync', (event) => {
  if (event.tag !== 'fieldcheck-sync') return;
  event.waitUntil(
    self.clients.matchAll({ type: 'window' }).then((clients) => clients.forEach((c) => c.postMessage({ type: 'sync' }))),
  );
});

// opened once per worker start: every module of a cold start is one cache lookup, not an open and a lookup
let staticCache = null;
let onDemandCache = null;

async function cacheFirst(request, cacheKey) {
  staticCache ??= caches.open(STATIC_CACHE);
  const hit = await (await staticCache).match(cacheKey || request);
  if (hit) return hit;
  return fetch(request);
}

// A file that is not precached: from this version's cache once loaded, else from the network, then kept.
async function onDemandFirst(request) {
  onDemandCache ??= caches.open(ON_DEMAND_CACHE);
  const cache = await onDemandCache;
  const hit = await cache.match(request);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.status === 200) await cache.put(request, response.clone());
  return response;
}

async function staticFirst(request) {
  staticCache ??= caches.open(STATIC_CACHE);
  const hit = await (await staticCache).match(request);
  return hit || onDemandFirst(request);
}

async function standardNetworkFirst(request) {
  const cache = await caches.open(STANDARDS_CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request.url, response.clone());
    return response;
  } catch (err) {
    const hit = await cache.match(request.url);
    if (hit) return hit;
    throw err;
  }
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate' && (url.pathname === '/' || url.pathname === '/index.html')) {
    event.respondWith(cacheFirst(request, '/'));
  } else if (url.pathname.startsWith('/static/') || url.pathname === '/manifest.webmanifest') {
    event.respondWith(staticFirst(request));
  } else if (url.pathname.startsWith('/api/standards/')) {
    event.respondWith(standardNetworkFirst(request));
  }
});
