// HTTP side of protocol v1: JSON requests with the bearer token, errors as ApiError.

export class ApiError extends Error {
  constructor(code, message, status = 0, call = null) {
    super(message);
    this.code = code;      // the contract's error code, or "network"
    this.status = status;  // HTTP status (0 for a network failure)
    this.call = call;      // the current call document, when the server sent one
  }
}

// The error body of the contract ({"error":{code,message},"call"?}), or a fallback.
export function errorFrom(body, status = 0) {
  const e = body && typeof body === 'object' ? body.error : null;
  const code = e && typeof e.code === 'string' ? e.code : 'unknown';
  const message = e && typeof e.message === 'string' ? e.message : `request failed (${status})`;
  return new ApiError(code, message, status, body && body.call ? body.call : null);
}

export class Api {
  constructor(token, deviceId) {
    this.token = token;
    this.deviceId = deviceId;
  }

  async request(method, path, body) {
    const headers = { 'X-Device-Id': this.deviceId };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch (e) {
      throw new ApiError('network', 'The server cannot be reached.');
    }
    let json = null;
    try { json = await res.json(); } catch (e) { /* not JSON */ }
    if (!res.ok) throw errorFrom(json, res.status);
    return json;
  }

  get(path) { return this.request('GET', path); }
  post(path, body) { return this.request('POST', path, body ?? {}); }
}

// Server facts that do not need a token (development mode, ring timeout).
export async function serverInfo() {
  return new Api(null, 'web').get('/v1/info');
}

export async function devToken(userId, name, photo) {
  return new Api(null, 'web').post('/v1/dev/token', { userId, name, photo });
}
