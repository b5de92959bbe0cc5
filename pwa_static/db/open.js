// The IndexedDB schema, in numbered upgrades. Bump DB_VERSION only with a new upgrade step below.
import { openDB } from '../vendor/idb/index.js';

export const DB_NAME = 'fieldcheck';
export const DB_VERSION = 3;
// Every write that holds a user's work is made durable before it resolves.
export const STRICT = { durability: 'strict' };
// The pull's cookie lives in `state` beside the rows it describes (version 3; it was in `meta`): see
// applyPage in sync/engine.js. Server keys always hold a '/', so this key is never one of theirs.
export const COOKIE = 'cookie';

export function openAppDb({ onBlocking } = {}) {
  return openDB(DB_NAME, DB_VERSION, {
    upgrade(db, oldVersion, newVersion, tx) {
      if (oldVersion < 1) {
        db.createObjectStore('meta'); // key -> value: session, client ids, next mutation id, …
        db.createObjectStore('state'); // server-confirmed state from pull patches, by key, and the cookie
        db.createObjectStore('mutations', { keyPath: 'id' }); // the queue, ids increasing by one
        const photos = db.createObjectStore('photos', { keyPath: 'photoId' }); // bytes until stored
        photos.createIndex('byInspection', 'inspectionId');
        db.createObjectStore('standards', { keyPath: 'id' }); // standard bundles for offline use
      }
      if (oldVersion < 2) {
        // the team's photos: server thumbnails kept for offline use, within a budget (upload/thumbs.js)
        db.createObjectStore('thumbs', { keyPath: 'photoId' });
      }
      if (oldVersion >= 1 && oldVersion < 3) {
        // the cookie moves from `meta` to `state`, in this upgrade's own transaction (no pull starts before it)
        const meta = tx.objectStore('meta');
        meta.get('cookie').then((cookie) => {
          if (cookie !== undefined) tx.objectStore('state').put(cookie, COOKIE);
          meta.delete('cookie');
        });
      }
    },
    blocking() {
      onBlocking?.();
    },
  });
}
