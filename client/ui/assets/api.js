// Calls to the ferry UI server's JSON API (same origin; the session cookie goes along).

/** An error the server answered with. */
export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function call(method, path, body) {
  const options = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["content-type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch {
    throw new ApiError("ferry client ui is not running any more", 0);
  }
  const type = response.headers.get("content-type") ?? "";
  const data = type.includes("application/json")
    ? await response.json()
    : { error: await response.text() };
  if (!response.ok) throw new ApiError(data.error || `HTTP ${response.status}`, response.status);
  return data;
}

/** GET with query parameters. */
export function get(path, params = {}) {
  const query = new URLSearchParams(params).toString();
  return call("GET", query ? `${path}?${query}` : path);
}

/** POST a JSON body. */
export function post(path, body = {}) {
  return call("POST", path, body);
}

/** PUT a file's bytes as they are. */
export async function putFile(path, file) {
  let response;
  try {
    response = await fetch(path, {
      method: "PUT",
      body: file,
      headers: { "content-type": "application/octet-stream" },
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError("ferry client ui is not running any more", 0);
  }
  if (!response.ok) {
    const data = await response.json().catch(() => ({}));
    throw new ApiError(data.error || `HTTP ${response.status}`, response.status);
  }
}
