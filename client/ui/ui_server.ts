/**
 * The HTTP server of `ferry client ui`: bound to loopback only, every request
 * checked (Host, Origin, the session cookie set from the one-time token
 * link), the page's assets embedded in the program, a JSON API and a
 * server-sent event stream per browser session.
 *
 * @module
 */

import { isLoopbackAddress } from "./loopback.ts";
import {
  allowedHosts,
  checkHostAndOrigin,
  cookieName,
  newSecret,
  readCookie,
  RequestRefused,
  sameSecret,
  securityHeaders,
} from "./guard.ts";
import { handleApi } from "./ui_api.ts";
import { UiSession, type UiSessionOptions } from "./ui_session.ts";
import type { LocalJail } from "./local_jail.ts";
import type { FtpUrl } from "../url.ts";

/** Options for {@linkcode startUiServer}. */
export interface UiServerOptions {
  /** The local folder the page works in. */
  jail: LocalJail;
  /** Loopback address to listen on. @default {"127.0.0.1"} */
  hostname?: string;
  /** Port (0 picks a free one). @default {0} */
  port?: number;
  /** Transfers at once. @default {2} */
  parallel?: number;
  /** Extra trusted certificates (PEM) for FTPS. */
  ca?: string;
  /** Connect and reply timeout. @default {30000} */
  timeoutMs?: number;
  /** A URL given on the command line (fills the connect form). */
  url?: FtpUrl;
}

/** A running UI server. */
export interface UiServer {
  /** "http://127.0.0.1:PORT". */
  origin: string;
  /** The link with the one-time token that opens a session. */
  link: string;
  port: number;
  /** Stops the server, closes every session's connections, removes staged files. */
  close(): Promise<void>;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
}

/** The page's files (embedded with `deno compile --include client/ui/assets`). */
const ASSETS: Record<string, string> = {
  "/": "index.html",
  "/app.js": "app.js",
  "/api.js": "api.js",
  "/panes.js": "panes.js",
  "/queue.js": "queue.js",
  "/dialogs.js": "dialogs.js",
  "/format.js": "format.js",
  "/style.css": "style.css",
  "/favicon.svg": "favicon.svg",
};

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
};

const assetCache = new Map<string, Uint8Array<ArrayBuffer>>();

async function _asset(name: string): Promise<Uint8Array<ArrayBuffer>> {
  let data = assetCache.get(name);
  if (!data) {
    data = await Deno.readFile(new URL(`./assets/${name}`, import.meta.url));
    assetCache.set(name, data);
  }
  return data;
}

function _text(status: number, text: string, headers: Record<string, string> = {}): Response {
  return new Response(`${text}\n`, {
    status,
    headers: { ...securityHeaders(), "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

/**
 * Starts the UI server on loopback.
 *
 * @throws {RangeError} If the address is not a loopback address.
 *
 * @example
 * ```ts ignore
 * const ui = await startUiServer({ jail: await LocalJail.open(".") });
 * console.log(ui.link);
 * ```
 */
export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const hostname = options.hostname ?? "127.0.0.1";
  if (!isLoopbackAddress(hostname)) {
    throw new RangeError(`--listen must be a loopback address (127.0.0.1 or ::1), not ${hostname}`);
  }
  const stagingDir = await Deno.makeTempDir({ prefix: "ferry-ui-" });
  let token: string | undefined = newSecret();
  const sessions = new Map<string, UiSession>();
  const streams = new Set<() => void>();
  let hosts: string[] = [];
  let cookie = "";
  const sessionOptions: Omit<UiSessionOptions, "stagingDir"> = {
    jail: options.jail,
    ...(options.parallel === undefined ? {} : { parallel: options.parallel }),
    ...(options.ca === undefined ? {} : { ca: options.ca }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.url === undefined ? {} : { url: options.url }),
  };

  const handle = async (request: Request): Promise<Response> => {
    try {
      checkHostAndOrigin(request, hosts);
      const url = new URL(request.url);
      const offered = url.searchParams.get("token");
      if (offered !== null && url.pathname === "/" && request.method === "GET") {
        if (token === undefined || !sameSecret(offered, token)) {
          return _text(403, "This link was already used or is wrong: start ferry client ui again");
        }
        token = undefined; // one time only
        const id = newSecret();
        sessions.set(
          id,
          new UiSession({ ...sessionOptions, stagingDir: `${stagingDir}/${sessions.size + 1}` }),
        );
        return new Response(null, {
          status: 303,
          headers: {
            ...securityHeaders(),
            location: "/",
            "set-cookie": `${cookie}=${id}; Path=/; HttpOnly; SameSite=Strict`,
          },
        });
      }
      const id = readCookie(request.headers.get("cookie"), cookie);
      const session = id === undefined
        ? undefined
        : [...sessions].find(([key]) => sameSecret(key, id))?.[1];
      if (!session) {
        throw new RequestRefused(403, "No session: open the link ferry client ui printed");
      }
      const asset = ASSETS[url.pathname];
      if (asset && (request.method === "GET" || request.method === "HEAD")) {
        const ext = asset.slice(asset.lastIndexOf(".") + 1);
        return new Response(request.method === "HEAD" ? null : await _asset(asset), {
          headers: { ...securityHeaders(), "content-type": CONTENT_TYPES[ext]! },
        });
      }
      if (url.pathname === "/api/events" && request.method === "GET") {
        return _eventStream(session, streams);
      }
      if (url.pathname.startsWith("/api/")) {
        const response = await handleApi(session, request, url);
        for (const [name, value] of Object.entries(securityHeaders())) {
          response.headers.set(name, value);
        }
        return response;
      }
      return _text(404, "Not found");
    } catch (error) {
      if (error instanceof RequestRefused) return _text(error.status, error.message);
      return _text(500, error instanceof Error ? error.message : String(error));
    }
  };

  const server = Deno.serve({
    hostname,
    port: options.port ?? 0,
    onListen: () => {},
    onError: (error) => _text(500, error instanceof Error ? error.message : String(error)),
  }, handle);
  const port = server.addr.port;
  hosts = allowedHosts(hostname, port);
  cookie = cookieName(port);
  const origin = `http://${hosts[0]}`;
  let closing: Promise<void> | undefined;
  return {
    origin,
    port,
    link: `${origin}/?token=${token}`,
    finished: server.finished,
    close() {
      closing ??= (async () => {
        for (const end of [...streams]) end();
        await Promise.all([...sessions.values()].map((session) => session.close()));
        await server.shutdown();
        await Deno.remove(stagingDir, { recursive: true }).catch(() => {});
      })();
      return closing;
    },
  };
}

/** The session's events as server-sent events, with a comment every 15 s to keep it open. */
function _eventStream(
  session: UiSession,
  streams: Set<() => void>,
): Response {
  const encoder = new TextEncoder();
  let stop = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const end = () => {
        stop();
        try {
          controller.close();
        } catch {
          // already closed
        }
      };
      streams.add(end);
      const send = (text: string) => {
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          stop();
        }
      };
      send("retry: 2000\n\n");
      const unsubscribe = session.events.subscribe((event) =>
        send(`event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`)
      );
      const timer = setInterval(() => send(": keep-alive\n\n"), 15_000);
      stop = () => {
        unsubscribe();
        clearInterval(timer);
        streams.delete(end);
      };
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, {
    headers: {
      ...securityHeaders(),
      "content-type": "text/event-stream; charset=utf-8",
    },
  });
}
