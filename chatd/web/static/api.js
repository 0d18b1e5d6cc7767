// The Crust HTTP API (docs/api.md) over fetch, authenticated by the HttpOnly session cookie: the page
// never holds the session id, so a script injected into it could not carry the session away.

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `request failed (${status})`);
    this.status = status;
    this.code = error.code || 'error';
    this.fields = error.fields || {};
  }
}

async function request(method, path, params, body) {
  let url = path;
  if (params) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && value !== '') query.set(key, String(value));
    }
    const qs = query.toString();
    if (qs) url += '?' + qs;
  }
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    throw new ApiError(0, { error: { code: 'offline', message: 'cannot reach the server' } });
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const api = {
  get: (path, params) => request('GET', path, params),
  post: (path, body) => request('POST', path, null, body || {}),
  del: (path, params) => request('DELETE', path, params),
  upload: (path, form) => request('POST', path, null, form),
};

// Every page of a paginated listing (bounded: a directory of thousands is fetched lazily instead).
export async function allPages(path, params, maxPages = 10) {
  const items = [];
  for (let page = 1; page <= maxPages; page++) {
    const result = await api.get(path, { ...params, page, per_page: 200 });
    items.push(...result.items);
    if (!result.next_page) break;
  }
  return items;
}
