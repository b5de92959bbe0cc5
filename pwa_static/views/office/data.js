// Online desk work: the office's screens read the API directly (the region is too large to hold offline).
// Offline, a screen shows the copy it last loaded in this session (kept in memory for this page and this user,
// never written to the device) and the office's banner says which and as of when (`offlineCopies`); back online it reloads.
import { useEffect, useState } from '../../vendor/preact/hooks.js';
import { signal } from '../../vendor/signals/signals.js';
import { NetworkError } from '../../lib/api.js';
import { useApp } from '../../lib/app_context.js';

const copies = new Map(); // path -> {data, at}: the last answer loaded online
export const offlineCopies = signal(new Map()); // path -> when its copy was loaded (null: no copy), for the banner

function showOffline(path, at) {
  const next = new Map(offlineCopies.value);
  next.set(path, at);
  offlineCopies.value = next;
}

function hideOffline(path) {
  if (!offlineCopies.value.has(path)) return;
  const next = new Map(offlineCopies.value);
  next.delete(path);
  offlineCopies.value = next;
}

// `note: false` for what every screen loads (the rounds): the offline note speaks of the screen's own data.
export function useApi(path, deps = [], { note = true } = {}) {
  const app = useApp();
  const online = app.state.online.value;
  const [state, setState] = useState({ data: null, error: null, loading: Boolean(path) });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return undefined;
    let live = true;
    const key = `${app.state.session.value?.user?.id} ${path}`; // another user on this tab sees no copy of this one's
    const offline = () => {
      const copy = copies.get(key);
      if (note) showOffline(path, copy?.at ?? null);
      setState({ data: copy?.data ?? null, error: null, loading: false, offline: true, at: copy?.at ?? null });
    };
    if (!navigator.onLine) {
      offline();
    } else {
      setState((s) => ({ ...s, loading: true }));
      app.api
        .get(path)
        .then((r) => {
          if (!live) return;
          copies.set(key, { data: r.data, at: Date.now() });
          hideOffline(path);
          setState({ data: r.data, error: null, loading: false });
        })
        .catch((err) => {
          if (!live) return;
          if (err instanceof NetworkError) offline();
          else setState({ data: null, error: err, loading: false });
        });
    }
    return () => {
      live = false;
      hideOffline(path);
    };
  }, [path, tick, online, ...deps]);
  return { ...state, reload: () => setTick((n) => n + 1) };
}

// Thumbnails need the bearer token, so they are fetched through the api and shown through object URLs.
const thumbs = new Map();
export function useThumb(photoId) {
  const app = useApp();
  const [url, setUrl] = useState(thumbs.get(photoId) || null);
  useEffect(() => {
    if (!photoId || thumbs.has(photoId)) return;
    app.api
      .blob(`/api/photos/${photoId}/thumb`)
      .then(({ blob }) => {
        const objectUrl = URL.createObjectURL(blob);
        thumbs.set(photoId, objectUrl);
        setUrl(objectUrl);
      })
      .catch(() => {});
  }, [photoId]);
  return url;
}
