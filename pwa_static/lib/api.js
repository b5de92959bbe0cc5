// The only place that sends the bearer token: JSON requests, files (thumbnails, originals, downloads) and the
// tus uploads' headers, with no HTTP cache and errors sorted into what the caller must do.

export class AuthExpired extends Error {}
export class NetworkError extends Error {}
export class HttpError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
  get retryable() {
    return this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

export function createApi(getToken) {
  // Sign-out: the requests already sent are let finish, and none is sent with the token being revoked, so none
  // comes back 401 (which would say the sign-in expired) after the person chose to sign out.
  const inFlight = new Set();
  let closing = false;

  function track(sent) {
    inFlight.add(sent);
    const done = () => inFlight.delete(sent);
    sent.then(done, done);
    return sent;
  }

  function request(method, path, body, extraHeaders = {}, { duringClose = false } = {}) {
    if (closing && !duringClose) return Promise.reject(new NetworkError('signing out'));
    return track(send(method, path, body, extraHeaders));
  }

  // A file the API answers (or redirects to a signed URL for): its bytes, read before the request counts as
  // ended, so sign-out waits for them too.
  function blob(path) {
    if (closing) return Promise.reject(new NetworkError('signing out'));
    return track(sendForBlob(path));
  }

  async function sendForBlob(path) {
    const token = getToken();
    let response;
    try {
      response = await fetch(path, {
        headers: token ? { Authorization: `Bearer ${token}` } : {},
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch (err) {
      throw new NetworkError(String(err?.message || err));
    }
    if (response.status === 401 && token) throw new AuthExpired('unauthorized');
    if (!response.ok) {
      const problem = await response.json().catch(() => null);
      throw new HttpError(response.status, problem);
    }
    try {
      return { status: response.status, headers: response.headers, blob: await response.blob() };
    } catch (err) {
      throw new NetworkError(String(err?.message || err));
    }
  }

  // The headers of a request another client sends (tus-js-client's uploads), asked for before each of its
  // requests; refused while signing out or signed out, so no upload request carries a token being revoked.
  function authHeaders() {
    const token = getToken();
    if (closing || !token) throw new NetworkError('signing out');
    return { Authorization: `Bearer ${token}` };
  }

  async function send(method, path, body, extraHeaders) {
    const headers = { Accept: 'application/json', ...extraHeaders };
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch (err) {
      throw new NetworkError(String(err?.message || err));
    }
    if (response.status === 304) return { status: 304, headers: response.headers, data: null };
    let data = null;
    const text = await response.text().catch(() => '');
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (response.status === 401 && token) throw new AuthExpired(data?.detail || 'unauthorized');
    if (!response.ok) throw new HttpError(response.status, data);
    return { status: response.status, headers: response.headers, data };
  }
  // Runs ``fn`` (the sign-out) once the requests in flight have ended, sending no other request meanwhile.
  async function closeWith(fn) {
    closing = true;
    try {
      await Promise.allSettled([...inFlight]);
      return await fn((path) => request('POST', path, {}, {}, { duringClose: true }));
    } finally {
      closing = false;
    }
  }

  return {
    closeWith,
    blob,
    authHeaders,
    isClosing: () => closing,
    get: (path, headers) => request('GET', path, undefined, headers),
    post: (path, body) => request('POST', path, body ?? {}),
    patch: (path, body) => request('PATCH', path, body ?? {}),
    put: (path, body) => request('PUT', path, body ?? {}),
  };
}
