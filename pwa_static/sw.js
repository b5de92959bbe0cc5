// fieldcheck service worker. The server stamps VERSION (a digest of the app's files) and PRECACHE.
// It never caches the API's data (that lives in IndexedDB), except standard bundles for offline use.
const VERSION = '__FIELDCHECK_VERSION__';
const PRECACHE = "__FIELDCHECK_PRECACHE__";
const STATIC_CACHE = `fieldcheck-static-${VERSION}`;
const STANDARDS_CACHE = 'fieldcheck-standards';

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(STATIC_CACHE).then((cache) => cache.addAll(PRECACHE.map((url) => new Request(url, { cache: 'reload' })))),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key.startsWith('fieldcheck-static-') && key !== STATIC_CACHE) await caches.delete(key);
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

async function cacheFirst(request, cacheKey) {
  staticCache ??= caches.open(STATIC_CACHE);
  const hit = await (await staticCache).match(cacheKey || request);
  if (hit) return hit;
  return fetch(request);
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
    event.respondWith(cacheFirst(request));
  } else if (url.pathname.startsWith('/api/standards/')) {
    event.respondWith(standardNetworkFirst(request));
  }
});
