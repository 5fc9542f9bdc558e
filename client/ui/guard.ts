/**
 * What every request to the browser client's server must pass before it is
 * served: a `Host` naming this server (no DNS rebinding), an `Origin` (when
 * sent) of this server and no cross-site fetch metadata (no cross-site
 * requests), and the session cookie set from the one-time token link. Also
 * the security headers every response carries.
 *
 * @module
 */

/** Why a request was refused, with the HTTP status it gets. */
export class RequestRefused extends Error {
  /** The HTTP status (400, 403). */
  readonly status: number;

  /** Creates the refusal. */
  constructor(status: number, message: string) {
    super(message);
    this.name = "RequestRefused";
    this.status = status;
  }
}

/**
 * The strict Content-Security-Policy of every response: scripts, styles and
 * connections from this server only, no inline code, no frames, no forms to
 * elsewhere.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers added to every response. */
export function securityHeaders(): Record<string, string> {
  return {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "cache-control": "no-store",
  };
}

/**
 * The `Host` values that name this server: the address it listens on and
 * `localhost`, with its port.
 *
 * @example
 * ```ts
 * allowedHosts("127.0.0.1", 8080); // ["127.0.0.1:8080", "localhost:8080"]
 * ```
 */
export function allowedHosts(hostname: string, port: number): string[] {
  const address = hostname.includes(":") ? `[${hostname}]` : hostname;
  return [`${address}:${port}`, `localhost:${port}`];
}

/** The name of the session cookie for a server on `port` (cookies do not separate ports). */
export function cookieName(port: number): string {
  return `ferry_ui_${port}`;
}

/** Reads one cookie from a `Cookie` header. */
export function readCookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Compares two secrets in time that does not depend on where they differ. */
export function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** A fresh random secret (256 bits, URL-safe base64). */
export function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

/**
 * Checks a request's `Host`, `Origin` and fetch metadata.
 *
 * @throws {RequestRefused} If the host is not this server or the request
 *   comes from another site.
 */
export function checkHostAndOrigin(request: Request, hosts: readonly string[]): void {
  const host = request.headers.get("host")?.toLowerCase();
  if (host === undefined || !hosts.includes(host)) {
    throw new RequestRefused(400, "Wrong Host: open the link ferry printed");
  }
  const origin = request.headers.get("origin");
  if (origin !== null && !hosts.some((allowed) => origin.toLowerCase() === `http://${allowed}`)) {
    throw new RequestRefused(403, "Cross-origin request refused");
  }
  const site = request.headers.get("sec-fetch-site");
  if (site !== null && site !== "same-origin" && site !== "none") {
    throw new RequestRefused(403, "Cross-site request refused");
  }
  // Anything that changes state must say where it comes from (browsers always do).
  if (request.method !== "GET" && request.method !== "HEAD" && origin === null) {
    throw new RequestRefused(403, "Request without Origin refused");
  }
}
