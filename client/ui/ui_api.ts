/**
 * The JSON API the page calls, one browser session at a time: connect,
 * list and change both sides, queue transfers, answer conflicts, and take
 * files dropped from the desktop. Errors become `{ error }` with a 4xx or
 * 5xx status; nothing here trusts a name from the server as a local path.
 *
 * @module
 */

import * as posix from "node:path/posix";
import * as path from "node:path";
import { ClientError, ExitCode, isClientError } from "../errors.ts";
import { isSafeEntryName } from "../transfer/mirror.ts";
import { LocalPathError } from "./local_jail.ts";
import { removeRemote } from "./remote_ops.ts";
import type { ConflictAction } from "./transfer_queue.ts";
import { describeError, type UiSession } from "./ui_session.ts";

/** The largest JSON body accepted. */
const MAX_JSON_BYTES = 4 * 1024 * 1024;
/** The most files one desktop drop may hold. */
const MAX_DROP_FILES = 100_000;

/** A bad request from the page. */
class BadRequest extends Error {}

interface StagedUpload {
  dir: string;
  remoteDir: string;
  expected: Set<string>;
}

const stagedUploads = new WeakMap<UiSession, Map<string, StagedUpload>>();
let nextUpload = 1;

function _json(data: unknown, status = 200): Response {
  return new Response(JSON.stringify(data), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

async function _body(request: Request): Promise<Record<string, unknown>> {
  const type = request.headers.get("content-type") ?? "";
  if (!type.startsWith("application/json")) throw new BadRequest("Expected a JSON body");
  const text = await request.text();
  if (text.length > MAX_JSON_BYTES) throw new BadRequest("Request too large");
  try {
    const value = JSON.parse(text);
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error();
    return value as Record<string, unknown>;
  } catch {
    throw new BadRequest("Invalid JSON");
  }
}

function _string(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  if (typeof value !== "string") throw new BadRequest(`Missing ${key}`);
  if (/[\0\r\n]/.test(value)) throw new BadRequest(`Invalid ${key}`);
  return value;
}

function _name(body: Record<string, unknown>, key: string): string {
  const name = _string(body, key);
  if (!isSafeEntryName(name)) throw new BadRequest(`Invalid name ${JSON.stringify(name)}`);
  return name;
}

function _remotePath(value: string): string {
  if (!value.startsWith("/")) throw new BadRequest("Remote paths are absolute");
  return posix.normalize(value);
}

function _status(error: unknown): number {
  if (error instanceof BadRequest || error instanceof RangeError) return 400;
  if (error instanceof LocalPathError) return 403;
  if (isClientError(error)) {
    if (error.exitCode === ExitCode.Usage) return 400;
    if (error.exitCode === ExitCode.Login) return 401;
    if (error.exitCode === ExitCode.Connect) return 502;
    return 409;
  }
  if (error instanceof Deno.errors.NotFound) return 404;
  if (error instanceof Deno.errors.AlreadyExists) return 409;
  if (error instanceof Deno.errors.PermissionDenied) return 403;
  return 500;
}

/** Answers one API request of `session`. */
export async function handleApi(
  session: UiSession,
  request: Request,
  url: URL,
): Promise<Response> {
  try {
    return await _route(session, request, url);
  } catch (error) {
    return _json({ error: describeError(error) }, _status(error));
  }
}

async function _route(session: UiSession, request: Request, url: URL): Promise<Response> {
  const route = `${request.method} ${url.pathname}`;
  const jail = session.jail;
  switch (route) {
    case "GET /api/state":
      return _json({
        connection: session.connection ?? null,
        prefill: await session.prefill(),
        localRoot: path.basename(jail.root) || jail.root,
        transfers: session.queue.views(),
        log: session.log,
      });
    case "POST /api/connect": {
      const body = await _body(request);
      const result = await session.connect({
        host: _string(body, "host"),
        ...(body.port === undefined || body.port === "" ? {} : { port: Number(body.port) }),
        ...(typeof body.user === "string" ? { user: body.user } : {}),
        ...(typeof body.password === "string" ? { password: body.password } : {}),
        security: body.security as "none" | "explicit" | "implicit",
        active: body.active === true,
        verify: body.verify !== false,
      });
      return _json(result);
    }
    case "POST /api/disconnect":
      await session.disconnect();
      return _json({ ok: true });
    case "GET /api/local/list": {
      const dir = url.searchParams.get("path") ?? "/";
      const entries = await jail.list(dir);
      return _json({ path: _normalLocal(dir), entries });
    }
    case "POST /api/local/mkdir": {
      const body = await _body(request);
      await jail.mkdir(_string(body, "dir"), _name(body, "name"));
      return _json({ ok: true });
    }
    case "POST /api/local/rename": {
      const body = await _body(request);
      await jail.rename(_string(body, "path"), _name(body, "name"));
      return _json({ ok: true });
    }
    case "POST /api/local/delete": {
      const body = await _body(request);
      await jail.remove(_string(body, "path"));
      return _json({ ok: true });
    }
    case "GET /api/remote/list": {
      const requested = url.searchParams.get("path") ?? "";
      const result = await session.withBrowse(async (client) => {
        const dir = requested === "" ? await client.pwd() : _remotePath(requested);
        const entries = await client.list(dir);
        return {
          path: dir,
          entries: entries.map((entry) => ({
            name: entry.name,
            type: entry.type,
            size: entry.type === "file" ? entry.size : 0,
            mtime: entry.mtime.getTime(),
          })),
        };
      });
      return _json(result);
    }
    case "POST /api/remote/mkdir": {
      const body = await _body(request);
      const target = posix.join(_remotePath(_string(body, "dir")), _name(body, "name"));
      await session.withBrowse((client) => client.mkdir(target));
      return _json({ ok: true });
    }
    case "POST /api/remote/rename": {
      const body = await _body(request);
      const from = _remotePath(_string(body, "path"));
      const to = posix.join(posix.dirname(from), _name(body, "name"));
      await session.withBrowse((client) => client.rename(from, to));
      return _json({ ok: true });
    }
    case "POST /api/remote/delete": {
      const body = await _body(request);
      const target = _remotePath(_string(body, "path"));
      if (target === "/") throw new BadRequest("Cannot delete /");
      const type = body.type === "dir" ? "dir" : "file";
      await session.withBrowse((client) => removeRemote(client, target, type));
      return _json({ ok: true });
    }
    case "POST /api/transfers": {
      const body = await _body(request);
      const direction = body.direction === "upload" ? "upload" : "download";
      const entries = Array.isArray(body.entries) ? body.entries : [];
      const localDir = _string(body, "localDir");
      await jail.directory(localDir);
      const result = await session.queue.enqueue({
        direction,
        localDir,
        remoteDir: _remotePath(_string(body, "remoteDir")),
        entries: entries.map((entry: Record<string, unknown>) => ({
          name: String(entry?.name ?? ""),
          type: entry?.type === "dir" ? "dir" as const : "file" as const,
        })),
      });
      return _json(result);
    }
    case "POST /api/transfers/clear":
      return _json({ cleared: session.queue.clearFinished() });
    case "POST /api/uploads":
      return _json(await _startUpload(session, await _body(request)));
  }
  const transfer = url.pathname.match(/^\/api\/transfers\/(\d+)\/(cancel|retry|resolve)$/);
  if (transfer && request.method === "POST") {
    const id = Number(transfer[1]);
    if (transfer[2] === "cancel") session.queue.cancel(id);
    else if (transfer[2] === "retry") session.queue.retry(id);
    else {
      const body = await _body(request);
      const action = _string(body, "action");
      if (!["overwrite", "rename", "skip", "resume", "cancel"].includes(action)) {
        throw new BadRequest("Unknown action");
      }
      session.queue.resolve(id, {
        action: action as ConflictAction | "cancel",
        ...(action === "rename" ? { name: _name(body, "name") } : {}),
      }, body.applyToAll === true);
    }
    return _json({ ok: true });
  }
  const upload = url.pathname.match(/^\/api\/uploads\/(\d+)(\/start)?$/);
  if (upload) {
    const staged = stagedUploads.get(session)?.get(upload[1]!);
    if (!staged) throw new BadRequest("No such upload");
    if (upload[2] && request.method === "POST") {
      stagedUploads.get(session)?.delete(upload[1]!);
      return _json(await session.queue.enqueueStaged(staged.dir, staged.remoteDir));
    }
    if (!upload[2] && request.method === "PUT") {
      const relative = url.searchParams.get("path") ?? "";
      if (!staged.expected.has(relative)) throw new BadRequest("Unexpected file");
      const file = await Deno.open(path.join(staged.dir, ...relative.split("/")), {
        write: true,
        create: true,
        truncate: true,
      });
      if (request.body) await request.body.pipeTo(file.writable);
      else file.close();
      staged.expected.delete(relative);
      return _json({ ok: true });
    }
  }
  return _json({ error: "Not found" }, 404);
}

function _normalLocal(virtual: string): string {
  const parts = virtual.split("/").filter(Boolean);
  return `/${parts.join("/")}`;
}

function _relativeParts(relative: unknown): string[] {
  if (typeof relative !== "string") throw new BadRequest("Invalid path");
  const parts = relative.split("/");
  if (parts.length === 0 || !parts.every(isSafeEntryName)) {
    throw new BadRequest(`Invalid path ${JSON.stringify(relative)}`);
  }
  return parts;
}

/** Makes a staging folder for files dropped from the desktop. */
async function _startUpload(
  session: UiSession,
  body: Record<string, unknown>,
): Promise<{ id: string }> {
  if (!session.connected) throw new ClientError("Not connected", ExitCode.Usage);
  const remoteDir = _remotePath(_string(body, "remoteDir"));
  const files = Array.isArray(body.files) ? body.files : [];
  const dirs = Array.isArray(body.dirs) ? body.dirs : [];
  if (files.length + dirs.length === 0) throw new BadRequest("Nothing to upload");
  if (files.length + dirs.length > MAX_DROP_FILES) throw new BadRequest("Too many files");
  const id = String(nextUpload++);
  const dir = path.join(session.queue.stagingDir, id);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const expected = new Set<string>();
  for (const relative of dirs) {
    await Deno.mkdir(path.join(dir, ..._relativeParts(relative)), { recursive: true });
  }
  for (const relative of files) {
    const parts = _relativeParts(relative);
    if (parts.length > 1) {
      await Deno.mkdir(path.join(dir, ...parts.slice(0, -1)), { recursive: true });
    }
    expected.add(parts.join("/"));
  }
  let uploads = stagedUploads.get(session);
  if (!uploads) stagedUploads.set(session, uploads = new Map());
  uploads.set(id, { dir, remoteDir, expected });
  return { id };
}
