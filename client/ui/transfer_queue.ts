/**
 * The browser client's transfer queue: files (and folders, expanded with the
 * mirror engine's tree listings and plan) move between the local folder and
 * the server over up to `parallel` connections of their own, each file with
 * its progress, speed and time left, a cancel and a retry, and, when the
 * target exists, a question for the page (overwrite, rename, skip, resume),
 * which "apply to all" answers for the rest of the batch.
 *
 * @module
 */

import * as path from "node:path";
import * as posix from "node:path/posix";
import { ClientError, ExitCode, isClientError } from "../errors.ts";
import type { FtpClient } from "../ftp_client.ts";
import { downloadFile, uploadFile } from "../transfer/local_transfer.ts";
import type { ExistingPolicy } from "../transfer/overwrite.ts";
import {
  isSafeEntryName,
  listLocalTree,
  listRemoteTree,
  type MirrorPlan,
  planMirror,
  type Tree,
} from "../transfer/mirror.ts";
import { LocalPathError } from "./local_jail.ts";
import type { UiSession } from "./ui_session.ts";
import { describeError } from "./ui_session.ts";

/** Where a transfer is. */
export type TransferState =
  | "queued"
  | "running"
  | "conflict"
  | "done"
  | "skipped"
  | "failed"
  | "cancelled";

/** The answers to "the target exists". */
export type ConflictAction = "overwrite" | "rename" | "skip" | "resume";

/** The question the page shows when a target exists. */
export interface ConflictView {
  /** The target's path (local virtual or remote). */
  target: string;
  targetSize: number | undefined;
  sourceSize: number | undefined;
  /** A free name next to the target. */
  suggested: string;
  /** True when the target is smaller than the source (REST can finish it). */
  canResume: boolean;
}

/** One transfer as the page sees it. */
export interface TransferView {
  id: number;
  batch: number;
  direction: "download" | "upload";
  /** The file's name (its path inside a folder being transferred). */
  label: string;
  /** Source and target, for the page's tooltip. */
  from: string;
  to: string;
  size: number | undefined;
  bytes: number;
  state: TransferState;
  /** Bytes per second over the last seconds. */
  rate: number;
  /** Seconds left, when the size and rate are known. */
  eta: number | undefined;
  error?: string;
  conflict?: ConflictView;
  /** False for a line that only reports what could not be queued. */
  retryable: boolean;
}

/** A decision for a conflict. */
export interface ConflictDecision {
  action: ConflictAction | "cancel";
  /** The new name for "rename". */
  name?: string;
}

interface Item {
  view: TransferView;
  /** The local folder (virtual) and the local name (source or target). */
  localDir: string;
  localName: string;
  /** The remote folder and the remote name (source or target). */
  remoteDir: string;
  remoteName: string;
  /** Upload from this real file (a file dropped from the desktop) instead of the local folder. */
  staged?: string;
  /** The decision made for this item (a retry starts afresh). */
  decision?: ConflictDecision | undefined;
  resolve?: ((decision: ConflictDecision) => void) | undefined;
  abort?: AbortController | undefined;
  client?: FtpClient | undefined;
  samples: { time: number; bytes: number }[];
  lastEmit: number;
}

interface Batch {
  policy?: ConflictAction;
}

/** Options for {@linkcode TransferQueue}. */
export interface TransferQueueOptions {
  /** Transfers at once. */
  parallel: number;
  /** Where desktop files are staged. */
  stagingDir: string;
}

/** What a page's request names to transfer: entries of one folder. */
export interface TransferRequest {
  direction: "download" | "upload";
  localDir: string;
  remoteDir: string;
  entries: { name: string; type: "file" | "dir" }[];
}

/** A transfer stopped because the user cancelled it. */
class TransferCancelled extends Error {
  constructor() {
    super("Cancelled");
    this.name = "TransferCancelled";
  }
}

const FINAL: ReadonlySet<TransferState> = new Set(["done", "skipped", "failed", "cancelled"]);
/** How long a cancelled transfer may take to notice before its connection is closed. */
const CANCEL_GRACE_MS = 2000;

/** Stale copies of a tree's files, so that a plan lists every source file. */
function _everyFile(tree: Tree): Tree {
  const stale: Tree = new Map();
  for (const [relative, entry] of tree) {
    stale.set(relative, entry.type === "file" ? { ...entry, size: -1 } : entry);
  }
  return stale;
}

/** The queue of one browser session. */
export class TransferQueue {
  readonly #session: UiSession;
  readonly #options: TransferQueueOptions;
  readonly #items = new Map<number, Item>();
  readonly #waiting: Item[] = [];
  readonly #batches = new Map<number, Batch>();
  #nextId = 1;
  #nextBatch = 1;
  #workers = 0;
  #slots: boolean[] = [];

  /** Creates the queue of `session`. */
  constructor(session: UiSession, options: TransferQueueOptions) {
    this.#session = session;
    this.#options = options;
  }

  /** Where files dropped from the desktop are staged. */
  get stagingDir(): string {
    return this.#options.stagingDir;
  }

  /** Every transfer, oldest first. */
  views(): TransferView[] {
    return [...this.#items.values()].map((item) => item.view);
  }

  /** A new batch (one user action); "apply to all" covers its transfers. */
  newBatch(): number {
    const id = this.#nextBatch++;
    this.#batches.set(id, {});
    return id;
  }

  #emit(item: Item, force = true): void {
    const now = Date.now();
    if (!force && now - item.lastEmit < 200) return;
    item.lastEmit = now;
    this.#session.events.publish("transfer", item.view);
  }

  #add(
    batch: number,
    fields: Omit<Item, "view" | "samples" | "lastEmit">,
    direction: "download" | "upload",
    label: string,
    size?: number,
  ): Item {
    const id = this.#nextId++;
    const remote = posix.join(fields.remoteDir, fields.remoteName);
    const local = posix.join(fields.localDir, fields.localName);
    const item: Item = {
      ...fields,
      samples: [],
      lastEmit: 0,
      view: {
        id,
        batch,
        direction,
        label,
        from: direction === "download" ? remote : fields.staged ? label : local,
        to: direction === "download" ? local : remote,
        size,
        bytes: 0,
        state: "queued",
        rate: 0,
        eta: undefined,
        retryable: true,
      },
    };
    this.#items.set(id, item);
    this.#waiting.push(item);
    this.#emit(item);
    return item;
  }

  #failed(batch: number, direction: "download" | "upload", label: string, message: string): void {
    const id = this.#nextId++;
    const item: Item = {
      localDir: "/",
      localName: label,
      remoteDir: "/",
      remoteName: label,
      samples: [],
      lastEmit: 0,
      view: {
        id,
        batch,
        direction,
        label,
        from: label,
        to: label,
        size: undefined,
        bytes: 0,
        state: "failed",
        rate: 0,
        eta: undefined,
        error: message,
        retryable: false,
      },
    };
    this.#items.set(id, item);
    this.#emit(item);
  }

  /**
   * Queues the entries of a request: files as they are, folders expanded
   * (listed with the mirror engine, target folders made first).
   *
   * @returns The batch and how many files were queued.
   */
  async enqueue(request: TransferRequest): Promise<{ batch: number; files: number }> {
    const batch = this.newBatch();
    let files = 0;
    for (const entry of request.entries) {
      if (!isSafeEntryName(entry.name)) {
        this.#failed(batch, request.direction, JSON.stringify(entry.name), "Unsafe name: skipped");
        continue;
      }
      try {
        if (entry.type === "file") {
          this.#add(
            batch,
            {
              localDir: request.localDir,
              localName: entry.name,
              remoteDir: request.remoteDir,
              remoteName: entry.name,
            },
            request.direction,
            entry.name,
          );
          files++;
        } else if (request.direction === "download") {
          files += await this.#enqueueRemoteFolder(batch, request, entry.name);
        } else {
          const real = await this.#session.jail.directory(posix.join(request.localDir, entry.name));
          files += await this.#enqueueLocalFolder(
            batch,
            real,
            request.localDir,
            request.remoteDir,
            entry.name,
          );
        }
      } catch (error) {
        this.#failed(batch, request.direction, entry.name, describeError(error));
      }
    }
    this.#start();
    return { batch, files };
  }

  /**
   * Queues uploads of files a page sent from the desktop, staged under
   * `stagedRoot`: each top-level file or folder goes to `remoteDir`.
   */
  async enqueueStaged(
    stagedRoot: string,
    remoteDir: string,
  ): Promise<{ batch: number; files: number }> {
    const batch = this.newBatch();
    let files = 0;
    const names: string[] = [];
    for await (const entry of Deno.readDir(stagedRoot)) names.push(entry.name);
    for (const name of names.sort()) {
      const real = path.join(stagedRoot, name);
      try {
        const info = await Deno.lstat(real);
        if (info.isDirectory) {
          files += await this.#enqueueLocalFolder(batch, real, undefined, remoteDir, name);
        } else if (info.isFile) {
          this.#add(
            batch,
            {
              localDir: "/",
              localName: name,
              remoteDir,
              remoteName: name,
              staged: real,
            },
            "upload",
            name,
            info.size,
          );
          files++;
        }
      } catch (error) {
        this.#failed(batch, "upload", name, describeError(error));
      }
    }
    this.#start();
    return { batch, files };
  }

  async #enqueueRemoteFolder(
    batch: number,
    request: TransferRequest,
    name: string,
  ): Promise<number> {
    const jail = this.#session.jail;
    const remoteRoot = posix.join(request.remoteDir, name);
    const skipped: string[] = [];
    const onSkip = (relative: string, reason: string) => skipped.push(`${relative}: ${reason}`);
    const remote = await this.#session.withBrowse((client) =>
      listRemoteTree(client, remoteRoot, onSkip)
    );
    const target = await jail.child(request.localDir, name);
    const info = await Deno.lstat(target).catch(() => undefined);
    if (info && !info.isDirectory) {
      throw new LocalPathError(`${name} exists here and is not a folder`);
    }
    if (!info) await Deno.mkdir(target);
    const local = info ? await listLocalTree(target, onSkip) : new Map();
    const plan = planMirror(remote, _everyFile(local));
    for (const relative of plan.mkdirs) await Deno.mkdir(path.join(target, ...relative.split("/")));
    return this.#queuePlan(batch, "download", name, plan, skipped, (dir, base) => ({
      localDir: posix.join(request.localDir, name, dir),
      localName: base,
      remoteDir: posix.join(remoteRoot, dir),
      remoteName: base,
    }));
  }

  /**
   * Queues a folder's upload: `real` is its real path, `localDir` the
   * virtual folder it is in (undefined for a staged folder).
   */
  async #enqueueLocalFolder(
    batch: number,
    real: string,
    localDir: string | undefined,
    remoteDir: string,
    name: string,
  ): Promise<number> {
    const skipped: string[] = [];
    const onSkip = (relative: string, reason: string) => skipped.push(`${relative}: ${reason}`);
    const local = await listLocalTree(real, onSkip);
    const remoteRoot = posix.join(remoteDir, name);
    const plan = await this.#session.withBrowse(async (client) => {
      const root = await client.stat(remoteRoot);
      if (root && root.type !== "dir") {
        throw new ClientError(
          `${remoteRoot} exists on the server and is not a folder`,
          ExitCode.RemoteFile,
        );
      }
      if (!root) await client.mkdir(remoteRoot);
      const remote = root ? await listRemoteTree(client, remoteRoot, onSkip) : new Map();
      const plan = planMirror(local, _everyFile(remote));
      for (const relative of plan.mkdirs) await client.mkdir(posix.join(remoteRoot, relative));
      return plan;
    });
    return this.#queuePlan(batch, "upload", name, plan, skipped, (dir, base, relative) => ({
      localDir: localDir === undefined ? "/" : posix.join(localDir, name, dir),
      localName: base,
      remoteDir: posix.join(remoteRoot, dir),
      remoteName: base,
      ...(localDir === undefined ? { staged: path.join(real, ...relative.split("/")) } : {}),
    }));
  }

  /**
   * Queues the files of a folder's `plan` (labelled under `name`), fails its
   * conflicts and logs what the listing skipped; `fields` places one file
   * (its folder and name within the plan, and its relative path).
   */
  #queuePlan(
    batch: number,
    direction: "download" | "upload",
    name: string,
    plan: MirrorPlan,
    skipped: string[],
    fields: (
      dir: string,
      base: string,
      relative: string,
    ) => Omit<Item, "view" | "samples" | "lastEmit">,
  ): number {
    for (const conflict of plan.conflicts) {
      this.#failed(
        batch,
        direction,
        `${name}/${conflict}`,
        "A file on one side and a folder on the other",
      );
    }
    for (const entry of skipped) this.#session.addLog("browse", `Skipped ${entry}`);
    for (const file of plan.transfers) {
      const dir = posix.dirname(file.path);
      const base = posix.basename(file.path);
      this.#add(batch, fields(dir, base, file.path), direction, `${name}/${file.path}`, file.size);
    }
    return plan.transfers.length;
  }

  /** Starts workers while there is work and a free slot. */
  #start(): void {
    while (this.#workers < this.#options.parallel && this.#waiting.length > 0) {
      let slot = this.#slots.indexOf(false);
      if (slot < 0) slot = this.#slots.push(false) - 1;
      this.#slots[slot] = true;
      this.#workers++;
      this.#worker(slot + 1).finally(() => {
        this.#slots[slot] = false;
        this.#workers--;
        this.#start();
      });
    }
  }

  async #worker(slot: number): Promise<void> {
    let client: FtpClient | undefined;
    try {
      for (let item = this.#waiting.shift(); item; item = this.#waiting.shift()) {
        if (item.view.state !== "queued") continue;
        try {
          client ??= await this.#session.openClient(`transfer ${slot}`);
          item.client = client;
          await this.#run(client, item);
        } catch (error) {
          const cancelled = item.abort?.signal.aborted || error instanceof TransferCancelled;
          item.view.state = cancelled ? "cancelled" : "failed";
          if (!cancelled) item.view.error = describeError(error);
          item.view.rate = 0;
          item.view.eta = undefined;
          this.#emit(item);
          if (cancelled || _breaksSession(error)) {
            client?.close();
            client = undefined;
          }
        } finally {
          item.client = undefined;
          item.abort = undefined;
        }
      }
    } finally {
      await client?.quit();
    }
  }

  async #run(client: FtpClient, item: Item): Promise<void> {
    const view = item.view;
    const abort = new AbortController();
    item.abort = abort;
    view.state = "running";
    delete view.error;
    delete view.conflict;
    view.bytes = 0;
    item.samples = [];
    this.#emit(item);
    let policy: ExistingPolicy = "fail";
    for (let round = 0;; round++) {
      const existing = await this.#target(client, item);
      if (existing === undefined) break;
      if (existing.type === "dir") throw new ClientError(`${view.to} is a folder`, ExitCode.Exists);
      const sourceSize = view.size ?? await this.#sourceSize(client, item);
      const suggested = await this.#freeName(client, item);
      const canResume = sourceSize !== undefined && existing.size < sourceSize;
      const batch = this.#batches.get(view.batch);
      let decision = item.decision;
      if (!decision && batch?.policy) decision = { action: batch.policy };
      if (!decision) {
        view.state = "conflict";
        view.conflict = {
          target: view.to,
          targetSize: existing.size,
          sourceSize,
          suggested,
          canResume,
        };
        this.#emit(item);
        decision = await new Promise<ConflictDecision>((resolve) => item.resolve = resolve);
        item.resolve = undefined;
        delete view.conflict;
        view.state = "running";
        this.#emit(item);
      }
      item.decision = undefined;
      if (decision.action === "cancel" || abort.signal.aborted) throw new TransferCancelled();
      if (decision.action === "skip") {
        view.state = "skipped";
        this.#emit(item);
        return;
      }
      if (decision.action === "overwrite") {
        policy = "overwrite";
        break;
      }
      if (decision.action === "resume") {
        // Equal sizes: nothing left to send (continue skips it); a larger target fails clearly.
        policy = "continue";
        break;
      }
      const name = decision.name ?? suggested;
      if (!isSafeEntryName(name)) throw new LocalPathError(`Refused name ${JSON.stringify(name)}`);
      if (view.direction === "download") item.localName = name;
      else item.remoteName = name;
      view.to = view.direction === "download"
        ? posix.join(item.localDir, name)
        : posix.join(item.remoteDir, name);
      if (round > 20) throw new ClientError("No free name found", ExitCode.Exists);
    }
    const onProgress = (bytes: number, total: number | undefined) => {
      if (abort.signal.aborted) throw new TransferCancelled();
      this.#progress(item, bytes, total);
    };
    const remote = posix.join(item.remoteDir, item.remoteName);
    const result = view.direction === "download"
      ? await downloadFile(
        client,
        remote,
        await this.#session.jail.child(item.localDir, item.localName),
        { existing: policy, onProgress },
      )
      : await uploadFile(
        client,
        item.staged ?? await this.#session.jail.file(posix.join(item.localDir, item.localName)),
        remote,
        { existing: policy, onProgress },
      );
    if (abort.signal.aborted) throw new TransferCancelled();
    view.state = result.outcome === "skipped" ? "skipped" : "done";
    if (view.size !== undefined && view.state === "done") view.bytes = view.size;
    view.rate = 0;
    view.eta = undefined;
    this.#emit(item);
    if (item.staged && view.state === "done") await Deno.remove(item.staged).catch(() => {});
  }

  #progress(item: Item, bytes: number, total: number | undefined): void {
    const view = item.view;
    const now = Date.now();
    view.bytes = bytes;
    if (total !== undefined) view.size = total;
    item.samples.push({ time: now, bytes });
    while (item.samples.length > 2 && now - item.samples[0]!.time > 3000) item.samples.shift();
    const first = item.samples[0]!;
    const seconds = (now - first.time) / 1000;
    if (seconds > 0.05) view.rate = (bytes - first.bytes) / seconds;
    view.eta = view.size !== undefined && view.rate > 0
      ? Math.max(0, (view.size - bytes) / view.rate)
      : undefined;
    this.#emit(item, false);
  }

  /** The existing target, or undefined. */
  async #target(
    client: FtpClient,
    item: Item,
  ): Promise<{ type: string; size: number } | undefined> {
    if (item.view.direction === "download") {
      const info = await this.#session.jail.probe(item.localDir, item.localName);
      if (!info) return undefined;
      return { type: info.isDirectory ? "dir" : "file", size: info.size };
    }
    const entry = await client.stat(posix.join(item.remoteDir, item.remoteName));
    if (!entry) return undefined;
    const size = entry.type === "file"
      ? await client.size(posix.join(item.remoteDir, item.remoteName)) ?? entry.size
      : 0;
    return { type: entry.type, size };
  }

  async #sourceSize(client: FtpClient, item: Item): Promise<number | undefined> {
    if (item.view.direction === "download") {
      return await client.size(posix.join(item.remoteDir, item.remoteName));
    }
    const real = item.staged ??
      await this.#session.jail.file(posix.join(item.localDir, item.localName));
    return (await Deno.stat(real)).size;
  }

  /** The first free "name.N.ext" next to the target. */
  async #freeName(client: FtpClient, item: Item): Promise<string> {
    const name = item.view.direction === "download" ? item.localName : item.remoteName;
    const ext = posix.extname(name);
    const base = name.slice(0, name.length - ext.length);
    for (let i = 1; i < 1000; i++) {
      const candidate = `${base}.${i}${ext}`;
      const taken = item.view.direction === "download"
        ? await this.#session.jail.probe(item.localDir, candidate)
        : await client.stat(posix.join(item.remoteDir, candidate));
      if (!taken) return candidate;
    }
    return `${base}.${Date.now()}${ext}`;
  }

  /**
   * Answers a conflict; with `applyToAll`, the same answer goes to every
   * other conflict of the batch, now and later.
   */
  resolve(id: number, decision: ConflictDecision, applyToAll: boolean): void {
    const item = this.#items.get(id);
    if (!item) throw new RangeError(`No transfer ${id}`);
    if (decision.action !== "cancel" && applyToAll) {
      const batch = this.#batches.get(item.view.batch);
      if (batch) batch.policy = decision.action;
      for (const other of this.#items.values()) {
        if (other !== item && other.view.batch === item.view.batch && other.resolve) {
          other.resolve({ action: decision.action });
        }
      }
    }
    if (item.resolve) item.resolve(decision);
    else if (item.view.state === "queued") item.decision = decision;
  }

  /** Cancels a transfer (queued, waiting for an answer, or running). */
  cancel(id: number): void {
    const item = this.#items.get(id);
    if (!item || FINAL.has(item.view.state)) return;
    if (item.view.state === "queued") {
      const index = this.#waiting.indexOf(item);
      if (index >= 0) this.#waiting.splice(index, 1);
      item.view.state = "cancelled";
      this.#emit(item);
      return;
    }
    item.abort?.abort();
    item.resolve?.({ action: "cancel" });
    // A transfer whose data has stopped flowing never reaches the check: close its connection.
    const client = item.client;
    setTimeout(() => {
      if (item.client === client && item.view.state === "running") client?.close();
    }, CANCEL_GRACE_MS);
  }

  /** Queues a failed, cancelled or skipped transfer again. */
  retry(id: number): void {
    const item = this.#items.get(id);
    if (!item || !FINAL.has(item.view.state) || item.view.state === "done") return;
    if (!item.view.retryable) return;
    item.view.state = "queued";
    delete item.view.error;
    item.view.bytes = 0;
    this.#waiting.push(item);
    this.#emit(item);
    this.#start();
  }

  /** Forgets finished transfers (done, skipped, failed, cancelled). */
  clearFinished(): number[] {
    const cleared: number[] = [];
    for (const [id, item] of this.#items) {
      if (FINAL.has(item.view.state)) {
        this.#items.delete(id);
        cleared.push(id);
        if (item.staged) Deno.remove(item.staged).catch(() => {});
      }
    }
    return cleared;
  }

  /** Cancels everything that has not finished. */
  async cancelAll(): Promise<void> {
    for (const item of this.#items.values()) this.cancel(item.view.id);
    const deadline = Date.now() + CANCEL_GRACE_MS + 3000;
    while (this.#workers > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function _breaksSession(error: unknown): boolean {
  return isClientError(error) &&
    (error.exitCode === ExitCode.Connect || error.exitCode === ExitCode.Protocol ||
      error.exitCode === ExitCode.TransferInterrupted);
}
