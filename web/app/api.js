// SPDX-License-Identifier: Apache-2.0
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

// The nodes this page may talk to: its own origin first, then the other nodes /v1/info lists (a
// cluster without a load balancer). A request that cannot reach one node tries the next; the
// WebSocket moves along the same list (signaling.js).
export const nodes = {
  list: [location.origin],
  current: 0,
  base() { return this.list[this.current]; },
  advance() { this.current = (this.current + 1) % this.list.length; },
  set(urls) {
    const others = [];
    for (const u of urls || []) {
      try {
        const o = new URL(u).origin;
        if (o !== location.origin && !others.includes(o)) others.push(o);
      } catch (e) { /* not a URL: ignored */ }
    }
    this.list = [location.origin, ...others];
    this.current = 0;
  },
};

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
    for (let tried = 1; ; tried++) {
      try {
        res = await fetch(nodes.base() + path, {
          method, headers, body: body === undefined ? undefined : JSON.stringify(body),
          cache: 'no-store',
        });
        break;
      } catch (e) {
        if (tried >= nodes.list.length) throw new ApiError('network', 'The server cannot be reached.');
        nodes.advance();
      }
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
  const info = await new Api(null, 'web').get('/v1/info');
  if (Array.isArray(info.servers)) nodes.set(info.servers);
  return info;
}

export async function devToken(userId, name, photo) {
  return new Api(null, 'web').post('/v1/dev/token', { userId, name, photo });
}
