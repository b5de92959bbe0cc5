// The app's state as signals. Functions that change it live in actions.js.
import { computed, signal } from '../vendor/signals/signals.js';
import { sayError as sayErrorIn, translate } from '../lib/i18n.js';
import { buildView } from '../sync/mutators.js';

export function createAppState() {
  const lang = signal(localStorage.getItem('fieldcheck.lang') || 'zh');
  // comfort outdoors, remembered on the device: a high-contrast theme and the text size
  const theme = signal(localStorage.getItem('fieldcheck.theme') || 'default');
  const textSize = signal(localStorage.getItem('fieldcheck.textSize') || 'normal');
  const session = signal(null); // {token, user, expiresAt}
  const authExpired = signal(false);
  const online = signal(navigator.onLine);
  const confirmed = signal(new Map()); // server state by key
  const pending = signal([]); // queued mutations
  const photos = signal(new Map()); // photoId -> record without bytes (+ hasBytes)
  const progress = signal(new Map()); // photoId -> fraction sent
  const standards = signal(new Map()); // id -> bundle
  const checklists = signal(new Map()); // standard id -> its submit rules as data (GET /api/standards/{id}/checklist)
  const assignments = signal([]); // from /api/assignments, cached for offline
  const sync = signal({ running: false, lastSyncAt: null, error: null, nextRetryAt: null });
  const rejections = signal([]);
  const receipts = signal(new Map()); // inspectionId -> the server's receipt (photo states, flags)
  const planTargets = signal(new Map()); // inspectionId -> target grades for the tier aimed at (kept offline)
  const storage = signal({ usage: 0, quota: 0, persisted: null });
  const deviceName = signal(''); // given on this device for the office's dashboard ('' = its model)
  const deviceNameAsked = signal(true); // whether the first start's prompt for that name was answered (or skipped)
  const teamThumbs = signal(new Map()); // photoId -> server thumbnail kept for offline use (upload/thumbs.js)
  const thumbUsage = signal({ count: 0, bytes: 0, budget: 0 });
  const update = signal({ ready: false, applying: false, offlineReady: false });
  const route = signal(parseRoute(location.hash));
  const notice = signal(null);
  const me = computed(() => ({ userId: session.value?.user?.id || null }));

  // what the user sees: confirmed state with the queue replayed on top
  const view = computed(() => buildView(confirmed.value, pending.value, me.value));

  const photosToSend = computed(() =>
    [...photos.value.values()].filter((p) => p.hasBytes && p.state !== 'stored' && p.state !== 'rejected'),
  );
  const pendingCount = computed(
    () =>
      pending.value.length +
      [...photos.value.values()].filter((p) => p.state === 'queued' || p.state === 'uploading').length,
  );

  const t = (key, params) => translate(lang.value, key, params);
  const sayError = (err) => sayErrorIn(lang.value, err); // an error in plain words, in the reader's language

  return {
    lang, theme, textSize, session, authExpired, online, confirmed, pending, photos, progress, standards, checklists, assignments,
    sync, rejections, receipts, planTargets, storage, deviceName, deviceNameAsked, teamThumbs, thumbUsage, update, route, notice, me, view, photosToSend, pendingCount, t, sayError,
  };
}

export function parseRoute(hash) {
  const parts = (hash || '').replace(/^#\/?/, '').split('/').filter(Boolean);
  if (parts[0] === 'i' && parts[1]) return { name: 'inspection', id: parts[1] };
  if (parts[0] === 'sync') return { name: 'sync' };
  if (parts[0] === 'plan' && parts[1]) return { name: 'plan', id: parts[1] };
  if (parts[0] === 'result' && parts[1]) return { name: 'result', id: parts[1] };
  if (parts[0] === 'office') return { name: 'office', tab: parts[1] || 'dashboard', id: parts[2] || null, sub: parts[3] || null };
  if (parts[0] === 'tasks') return { name: 'assignments' };
  return { name: 'home' }; // the role's own start: assignments, or the office's screens
}
