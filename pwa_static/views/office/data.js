// Online desk work: the office's screens read the API directly (the region is too large to hold offline).
import { useEffect, useState } from '../../vendor/preact/hooks.js';

export function useApi(app, path, deps = []) {
  const [state, setState] = useState({ data: null, error: null, loading: Boolean(path) });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return undefined;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    app.api
      .get(path)
      .then((r) => live && setState({ data: r.data, error: null, loading: false }))
      .catch((err) => live && setState({ data: null, error: err, loading: false }));
    return () => {
      live = false;
    };
  }, [path, tick, ...deps]);
  return { ...state, reload: () => setTick((n) => n + 1) };
}

// Thumbnails need the bearer token, so they are fetched and shown through object URLs.
const thumbs = new Map();
export function useThumb(app, photoId) {
  const [url, setUrl] = useState(thumbs.get(photoId) || null);
  useEffect(() => {
    if (!photoId || thumbs.has(photoId)) return;
    const token = app.state.session.value?.token;
    fetch(`/api/photos/${photoId}/thumb`, { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' })
      .then((r) => (r.ok ? r.blob() : null))
      .then((blob) => {
        if (!blob) return;
        const objectUrl = URL.createObjectURL(blob);
        thumbs.set(photoId, objectUrl);
        setUrl(objectUrl);
      })
      .catch(() => {});
  }, [photoId]);
  return url;
}
