// fetch for the JSON API: the bearer token, no HTTP cache, and errors sorted into what the caller must do.

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

  function request(method, path, body, extraHeaders = {}, { duringClose = false } = {}) {
    if (closing && !duringClose) return Promise.reject(new NetworkError('signing out'));
    const sent = send(method, path, body, extraHeaders);
    inFlight.add(sent);
    const done = () => inFlight.delete(sent);
    sent.then(done, done);
    return sent;
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
    get: (path, headers) => request('GET', path, undefined, headers),
    post: (path, body) => request('POST', path, body ?? {}),
    patch: (path, body) => request('PATCH', path, body ?? {}),
    put: (path, body) => request('PUT', path, body ?? {}),
  };
}
