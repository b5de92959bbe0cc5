// User intents and the plumbing that keeps the signals equal to IndexedDB.
import { batch } from '../vendor/signals/signals.js';
import { COOKIE, STRICT } from '../db/open.js';
import { DEVICE_NAME_MAX, deviceNameAsked, givenDeviceName, markDeviceNameAsked, saveDeviceName } from '../lib/device.js';
import { localIso, readCaptureFacts } from '../lib/exif.js';
import { sha256Hex, uuid } from '../lib/ids.js';
import { documentMime } from '../lib/documents.js';
import { enqueue } from '../sync/queue.js';
import { cacheThumbs, loadThumbs, thumbUsage } from '../upload/thumbs.js';

const THUMB_PX = 320;

export function createActions({ state, db, api, engines }) {
  // Reload every signal that mirrors IndexedDB (cheap: a few hundred keys for an inspection). Calls may
  // overlap; only the latest one's snapshot is applied.
  let refreshes = 0;
  // taps shown but not yet stored (act below): kept in the view by every refresh until their write commits
  const unstored = new Set();
  async function refresh() {
    const mine = ++refreshes;
    const [keys, values, pending, photos, rejections] = await Promise.all([
      db.getAllKeys('state'),
      db.getAll('state'),
      db.getAll('mutations'),
      db.getAll('photos'),
      db.get('meta', 'rejections'),
    ]);
    if (mine !== refreshes) return;
    const confirmed = new Map(keys.map((k, i) => [k, values[i]]));
    confirmed.delete(COOKIE); // the sync's own, not a server row
    const photoMap = new Map();
    for (const p of photos) {
      const { blob, ...rest } = p;
      photoMap.set(p.photoId, { ...rest, hasBytes: Boolean(blob) });
    }
    batch(() => {
      state.confirmed.value = confirmed;
      state.pending.value = [...pending, ...unstored];
      state.photos.value = photoMap;
      state.rejections.value = rejections || [];
    });
  }

  async function loadStandards() {
    const all = await db.getAll('standards');
    batch(() => {
      state.standards.value = new Map(all.map((s) => [s.id, s.bundle]));
      state.checklists.value = new Map(all.filter((s) => s.checklist).map((s) => [s.id, s.checklist]));
    });
  }

  async function loadSession() {
    const [session, assignments, lastSyncAt] = await Promise.all([
      db.get('meta', 'session'),
      db.get('meta', 'assignments'),
      db.get('meta', 'lastSyncAt'),
    ]);
    batch(() => {
      state.session.value = session || null;
      state.assignments.value = assignments || [];
      state.sync.value = { ...state.sync.value, lastSyncAt: lastSyncAt || null };
    });
  }

  // Work on this device that has not reached the server: queued mutations and photo bytes not yet stored.
  async function queueOwner() {
    const photos = await db.getAll('photos');
    const unsentPhotos = photos.filter((p) => p.blob && p.state !== 'stored' && p.state !== 'rejected').length;
    return { count: (await db.count('mutations')) + unsentPhotos, owner: await db.get('meta', 'queueOwner') };
  }

  async function login(username, password) {
    const response = await api.post('/api/auth/login', { username, password });
    const { token, expiresAt, user } = response.data;
    const { count, owner } = await queueOwner();
    if (count && owner && owner.id !== user.id) {
      const err = new Error('other-user-queue');
      err.params = { n: count, user: owner.username };
      throw err;
    }
    const tx = db.transaction(['meta', 'state', 'photos', 'thumbs'], 'readwrite', STRICT);
    const meta = tx.objectStore('meta');
    if (!owner || owner.id !== user.id) {
      // another person on this device: a new client and an empty store (their scope differs); the cookie
      // lives in `state` and goes with it
      await tx.objectStore('state').clear();
      await tx.objectStore('photos').clear();
      await tx.objectStore('thumbs').clear();
      await meta.put(uuid(), 'clientId');
      await meta.put(uuid(), 'clientGroupId');
      await meta.put(1, 'nextMutationId');
      await meta.delete('assignments');
      await meta.delete('rejections');
      await meta.put({ id: user.id, username: user.username }, 'queueOwner');
    }
    await meta.put({ token, expiresAt, user }, 'session');
    await tx.done;
    state.authExpired.value = false;
    await loadSession();
    await refresh();
    engines.sync.syncNow('login');
  }

  // Signing out with nothing unsent leaves nothing of this person's work on the device. With something
  // unsent the view asks first (views/header.js); the queue and its photos then stay for the next sign-in.
  async function logout() {
    // the device forgets the token first (the requests below still carry it, from memory): a page reloaded or
    // closed from here on starts signed out, never with a token the server may have revoked meanwhile (whose
    // first sync would meet a 401 and say the sign-in expired)
    await db.delete('meta', 'session');
    await engines.sync.pause();
    await engines.upload.pause(); // an upload in flight stops here and resumes from its offset at the next sign-in
    try {
      await api.closeWith(async (post) => {
        await post('/api/auth/logout').catch(() => {});
        await signOutHere();
      });
    } finally {
      engines.sync.resume();
      engines.upload.resume();
    }
  }

  async function signOutHere() {
    if (state.pendingCount.value) {
      await db.delete('meta', 'session');
    } else {
      // the device's own name (and that it was asked) stays: it is in localStorage (lib/device.js)
      const stores = ['meta', 'state', 'mutations', 'photos'];
      const tx = db.transaction(stores, 'readwrite', STRICT);
      await Promise.all(stores.map((store) => tx.objectStore(store).clear()));
      await tx.done;
      state.assignments.value = [];
      await refresh();
    }
    state.session.value = null;
  }

  async function fetchAssignments() {
    const response = await api.get('/api/assignments');
    await db.put('meta', response.data, 'assignments');
    state.assignments.value = response.data;
  }

  async function act(name, args, extra) {
    // shown at once, marked `provisional` (the screen says it is being saved) until the durable write (strict
    // IndexedDB commit) is done; then refresh() shows the stored mutation with its real id instead
    const entry = { id: -1, name, args, provisional: true };
    unstored.add(entry);
    state.pending.value = [...state.pending.value, entry];
    try {
      await enqueue(db, name, args, extra);
    } finally {
      unstored.delete(entry);
      await refresh();
    }
    engines.syncSoon();
  }

  function registerVersion(inspectionId, itemCode, field) {
    return state.confirmed.value.get(`answer/${inspectionId}/${itemCode}/${field}`)?.version || 0;
  }

  async function setAnswer(inspectionId, itemCode, field, value) {
    const baseVersion = registerVersion(inspectionId, itemCode, field);
    await act('setAnswer', { inspectionId, itemCode, field, value, baseVersion });
  }

  async function answerArticle(inspectionId, itemCode, value) {
    // N/A and a grade are two registers: choosing one clears the other
    const current = state.view.value.get(`answer/${inspectionId}/${itemCode}/na`);
    if (value === 'na') {
      await setAnswer(inspectionId, itemCode, 'na', true);
      return;
    }
    if (current?.value === true) await setAnswer(inspectionId, itemCode, 'na', false);
    await setAnswer(inspectionId, itemCode, 'value', value);
  }

  async function addNote(inspectionId, itemCode, text) {
    await act('addNote', { inspectionId, itemCode, noteId: uuid(), text });
  }

  // Undo and correct (docs/sync.md: notes are one author's, photos an add-wins set, captions registers).
  async function clearAnswer(inspectionId, itemCode) {
    const view = state.view.value;
    if (view.get(`answer/${inspectionId}/${itemCode}/na`)?.value === true) await setAnswer(inspectionId, itemCode, 'na', false);
    const value = view.get(`answer/${inspectionId}/${itemCode}/value`)?.value;
    if (value !== null && value !== undefined) await setAnswer(inspectionId, itemCode, 'value', null);
  }

  async function editNote(note, text) {
    await act('editNote', { noteId: note.id, inspectionId: note.inspectionId, text });
  }

  async function deleteNote(note) {
    await act('deleteNote', { noteId: note.id, inspectionId: note.inspectionId });
  }

  async function removePhoto(inspectionId, photoId) {
    // the version this device saw: a later re-add it has not seen wins over the removal
    const seen = state.confirmed.value.get(`photo/${photoId}`)?.version;
    const args = { photoId, inspectionId };
    if (seen) args.baseVersion = seen;
    await act('removePhoto', args, { dropPhotoId: photoId });
  }

  async function replacePhoto(inspectionId, itemCode, photoId, file) {
    await addPhoto(inspectionId, itemCode, file);
    await removePhoto(inspectionId, photoId);
  }

  async function setPhotoCaption(inspectionId, photoId, caption) {
    const baseVersion = state.confirmed.value.get(`photo/${photoId}`)?.captionVersion || 0;
    await act('setPhotoCaption', { photoId, inspectionId, caption, baseVersion });
  }

  async function addPhoto(inspectionId, itemCode, file, requirementId = null) {
    const photoId = uuid();
    // a ledger (PDF/DOCX/XLSX) goes the same way as a photo; the device draws no thumbnail of it
    const standardId = state.view.value.get(`inspection/${inspectionId}`)?.standardVersionId;
    const types = state.checklists.value.get(standardId)?.documentTypes || {};
    const mime = documentMime(types, file);
    const document = Object.hasOwn(types, mime);
    const [sha256, thumb, facts] = await Promise.all([
      sha256Hex(file),
      document ? null : makeThumb(file),
      document ? null : readCaptureFacts(file),
    ]);
    // with this device's UTC offset: an EXIF time without one is placed in it by the server
    const takenAt = file.lastModified ? localIso(new Date(file.lastModified)) : null;
    const photo = {
      photoId, inspectionId, itemCode, sha256, size: file.size, mime, blob: file, thumb, facts,
      state: 'queued', uploadUrl: null, name: file.name, addedAt: new Date().toISOString(),
    };
    const args = { inspectionId, itemCode, photoId, sha256, size: file.size, mime, takenAt };
    if (requirementId) args.requirementId = requirementId;
    await act('addPhoto', args, { photo });
    return photoId;
  }

  // The improvement plan (docs/improvement.md): items on the clinic's self-assessment, edited offline.
  async function createImprovement(inspectionId, fields) {
    const improvementId = uuid();
    const args = { inspectionId, improvementId, itemCode: fields.itemCode, gap: fields.gap, kind: fields.kind };
    if (fields.owner) args.owner = fields.owner;
    if (fields.dueDate) args.dueDate = fields.dueDate;
    if (fields.requirementId) args.requirementId = fields.requirementId;
    await act('createImprovement', args);
    return improvementId;
  }

  async function setImprovementField(item, field, value) {
    // the base is the field register's version as this device last saw it from the server
    const confirmed = state.confirmed.value.get(`improvement/${item.id}`);
    const baseVersion = confirmed?.fieldVersions?.[field] || 0;
    await act('setImprovementField', { improvementId: item.id, inspectionId: item.inspectionId, field, value, baseVersion });
  }

  async function setImprovementStatus(item, status) {
    await act('setImprovementStatus', { improvementId: item.id, inspectionId: item.inspectionId, status });
  }

  async function addImprovementPhoto(item, file) {
    const photoId = await addPhoto(item.inspectionId, item.itemCode, file);
    await act('attachImprovementPhoto', { improvementId: item.id, inspectionId: item.inspectionId, photoId });
  }

  // Target grades for the tier the clinic aims for: fetched online, kept in IndexedDB for offline use.
  async function loadPlanTargets(inspectionId) {
    const cached = await db.get('meta', `planTargets:${inspectionId}`);
    if (cached) state.planTargets.value = new Map(state.planTargets.value).set(inspectionId, cached);
    if (!state.online.value) return;
    try {
      const response = await api.get(`/api/improvement/inspections/${inspectionId}/targets`);
      await db.put('meta', response.data, `planTargets:${inspectionId}`);
      state.planTargets.value = new Map(state.planTargets.value).set(inspectionId, response.data);
    } catch {
      // offline or the server is away: the kept copy serves
    }
  }

  async function resolveConflict(conflict, value) {
    await act('resolveConflict', {
      conflictId: conflict.id, value, baseVersion: conflict.version, inspectionId: conflict.inspectionId,
    });
  }

  async function submitInspection(inspectionId) {
    await act('submitInspection', { inspectionId });
  }

  // The team's photos: thumbnails of photos stored on the server that this device did not take.
  async function loadTeamThumbs() {
    const [thumbs, usage] = await Promise.all([loadThumbs(db), thumbUsage(db)]);
    batch(() => {
      state.teamThumbs.value = thumbs;
      state.thumbUsage.value = usage;
    });
  }

  async function cacheTeamThumbs() {
    const local = state.photos.value;
    const wanted = [];
    for (const receipt of state.receipts.value.values()) {
      for (const p of receipt.photos || []) {
        if (p.thumbReady && !local.get(p.photoId)?.thumb) wanted.push({ photoId: p.photoId, inspectionId: receipt.inspectionId });
      }
    }
    wanted.reverse(); // the receipt lists the oldest first; the budget keeps the newest
    if (state.session.value?.token && navigator.onLine) await cacheThumbs({ db, api, wanted });
    await loadTeamThumbs();
  }

  // The original opens on demand (online): a short-lived signed URL in a new tab.
  async function openOriginal(photoId) {
    const response = await api.get(`/api/photos/${photoId}/original?as=json`);
    window.open(response.data.url, '_blank', 'noopener');
  }

  async function dismissRejections() {
    await db.put('meta', [], 'rejections');
    await refresh();
  }

  // The name this device goes by on the office's dashboard (sent with every push), kept in localStorage: never
  // waiting behind a sync's transaction (lib/device.js says why).
  async function setDeviceName(name) {
    const value = name.trim().slice(0, DEVICE_NAME_MAX);
    saveDeviceName(value);
    state.deviceName.value = value;
    engines.syncSoon();
  }

  async function loadDeviceName() {
    if (!deviceNameAsked()) {
      // a device answered before these moved to localStorage: its answer in IndexedDB, moved over once
      const [name, asked] = await Promise.all([db.get('meta', 'deviceName'), db.get('meta', 'deviceNameAsked')]);
      if (name && !givenDeviceName()) saveDeviceName(name);
      if (name || asked) markDeviceNameAsked();
    }
    state.deviceName.value = givenDeviceName();
    state.deviceNameAsked.value = Boolean(state.deviceName.value) || deviceNameAsked();
  }

  // The first start's prompt, answered once per device: a name (saved as in the sync centre), or skipped
  // (null: the dashboard shows the model). Either way it is not asked again; the sync centre still edits it.
  async function answerDeviceNamePrompt(name) {
    markDeviceNameAsked();
    state.deviceNameAsked.value = true;
    if (name !== null) await setDeviceName(name);
  }

  function applyComfort() {
    document.documentElement.dataset.theme = state.theme.value;
    document.documentElement.dataset.textSize = state.textSize.value;
  }

  function setTheme(theme) {
    localStorage.setItem('fieldcheck.theme', theme);
    state.theme.value = theme;
    applyComfort();
  }

  function setTextSize(size) {
    localStorage.setItem('fieldcheck.textSize', size);
    state.textSize.value = size;
    applyComfort();
  }

  function setLang(lang) {
    localStorage.setItem('fieldcheck.lang', lang);
    state.lang.value = lang;
    document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
  }

  return {
    refresh, loadStandards, loadSession, login, logout, fetchAssignments, answerArticle, setAnswer, addNote,
    addPhoto, resolveConflict, submitInspection, clearAnswer, editNote, deleteNote, removePhoto, replacePhoto,
    setPhotoCaption, setDeviceName, answerDeviceNamePrompt, loadDeviceName, applyComfort, setTheme, setTextSize, loadTeamThumbs, cacheTeamThumbs, openOriginal, dismissRejections, setLang, createImprovement,
    setImprovementField, setImprovementStatus, addImprovementPhoto, loadPlanTargets,
  };
}

// A thumbnail made on the device (orientation from EXIF), so the list never decodes full photos again.
async function makeThumb(file) {
  try {
    const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    const scale = Math.min(1, THUMB_PX / Math.max(bitmap.width, bitmap.height));
    const canvas = new OffscreenCanvas(Math.round(bitmap.width * scale), Math.round(bitmap.height * scale));
    canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    return await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.8 });
  } catch {
    return null; // not decodable here (e.g. HEIC): the server still gets the original bytes
  }
}
