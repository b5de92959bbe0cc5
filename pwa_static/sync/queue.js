// The mutation queue in IndexedDB. One user action is one readwrite transaction: the mutation gets the
// next per-client id and is appended, together with anything else the action stores (a photo's bytes).
import { STRICT } from '../db/open.js';
import { hlcNow } from '../lib/ids.js';

// `dropPhotoId`: a removed photo's bytes leave the device in the same transaction (never uploaded).
export async function enqueue(db, name, args, { photo, dropPhotoId } = {}) {
  const stores = photo || dropPhotoId ? ['meta', 'mutations', 'photos'] : ['meta', 'mutations'];
  const tx = db.transaction(stores, 'readwrite', STRICT);
  const meta = tx.objectStore('meta');
  const id = (await meta.get('nextMutationId')) ?? 1;
  const clientId = await meta.get('clientId');
  const mutation = { id, name, args, hlc: hlcNow(clientId?.slice(0, 8)) };
  await tx.objectStore('mutations').add(mutation);
  await meta.put(id + 1, 'nextMutationId');
  if (photo) await tx.objectStore('photos').put(photo);
  if (dropPhotoId) await tx.objectStore('photos').delete(dropPhotoId);
  await tx.done;
  return mutation;
}

export async function pendingMutations(db) {
  return db.getAll('mutations');
}

// Drop what the server acknowledged (ids up to lastMutationId); keep the rest in order.
export async function acknowledge(db, lastMutationId) {
  const tx = db.transaction('mutations', 'readwrite', STRICT);
  await tx.store.delete(IDBKeyRange.upperBound(lastMutationId));
  await tx.done;
}

// A 409 mutation_gap: the server expects `expected` next (a restored server, a lost acknowledgement).
// Renumber the queue from there, keeping its order, so nothing queued is lost.
export async function renumberFrom(db, expected) {
  const tx = db.transaction(['meta', 'mutations'], 'readwrite', STRICT);
  const all = await tx.objectStore('mutations').getAll();
  await tx.objectStore('mutations').clear();
  let id = expected;
  for (const m of all) {
    await tx.objectStore('mutations').add({ ...m, id });
    id += 1;
  }
  await tx.objectStore('meta').put(id, 'nextMutationId');
  await tx.done;
}
