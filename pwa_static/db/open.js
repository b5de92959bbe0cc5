// The IndexedDB schema, in numbered upgrades. Bump DB_VERSION only with a new upgrade step below.
import { openDB } from '../vendor/idb/index.js';

export const DB_NAME = 'fieldcheck';
export const DB_VERSION = 2;
// Every write that holds a user's work is made durable before it resolves.
export const STRICT = { durability: 'strict' };

export function openAppDb({ onBlocking } = {}) {
  return openDB(DB_NAME, DB_VERSION, {
    upgrade(db, oldVersion) {
      if (oldVersion < 1) {
        db.createObjectStore('meta'); // key -> value: session, client ids, cookie, next mutation id, …
        db.createObjectStore('state'); // server-confirmed state from pull patches, by key
        db.createObjectStore('mutations', { keyPath: 'id' }); // the queue, ids increasing by one
        const photos = db.createObjectStore('photos', { keyPath: 'photoId' }); // bytes until stored
        photos.createIndex('byInspection', 'inspectionId');
        db.createObjectStore('standards', { keyPath: 'id' }); // standard bundles for offline use
      }
      if (oldVersion < 2) {
        // the team's photos: server thumbnails kept for offline use, within a budget (upload/thumbs.js)
        db.createObjectStore('thumbs', { keyPath: 'photoId' });
      }
    },
    blocking() {
      onBlocking?.();
    },
  });
}
