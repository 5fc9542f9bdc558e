/**
 * The server's hooks at work: background hooks of events that happened
 * (queued, at most N at once, overflow dropped and counted) and pre-hooks
 * that decide whether an upload or a delete may go ahead.
 *
 * @module
 */

import type { EventListener, ServerEvent } from "../events.ts";
import type { Logger, LogValue } from "../log.ts";
import {
  type HookConfig,
  type HookEventName,
  type HookSettings,
  type PreEventName,
} from "./hook_config.ts";
import { hookEnvironment, type HookEvent, HookEventTranslator, hookPayload } from "./hook_event.ts";
import { HookStats } from "./hook_stats.ts";
import { type HookOutcome, runWebhook } from "./run_hook.ts";
import { CommandThread } from "./command_thread.ts";

/** What a pre-hook needs to know of the session asking. */
export interface HookSession {
  /** The session's number. */
  readonly id: number;
  /** The user name. */
  readonly user: string | undefined;
  /** The client's address. */
  readonly peerAddress: string;
  /** The client's port. */
  readonly peerPort: number;
}

/** A pre-hook check: what is about to happen. */
export interface PreHookRequest {
  /** Which pre-hooks run. */
  readonly kind: PreEventName;
  /** The FTP command asking (STOR, APPE, STOU, DELE, RMD). */
  readonly verb: string;
  /** The virtual path it acts on. */
  readonly path: string;
}

/** One background run waiting for its turn. */
interface Job {
  readonly hook: HookConfig;
  readonly event: HookEvent;
}

/** Options for {@linkcode HookRunner}. */
export interface HookRunnerOptions {
  /** The served root's real path, for `FERRY_LOCAL_PATH`. */
  root: string;
  /** Where failures are logged. */
  logger: Logger;
}

/** A short name of a hook for the log: the program, or the webhook's address without its query. */
export function hookLabel(hook: HookConfig): string {
  if (hook.command) return hook.command[0]!;
  try {
    const url = new URL(hook.url!);
    return `${url.origin}${url.pathname}`;
  } catch {
    return "webhook";
  }
}

/**
 * Runs the configured hooks of one server.
 *
 * @example
 * ```ts
 * const hooks = new HookRunner(settings, { root: server.root, logger });
 * server.events.on(hooks.listener);
 * const refusal = await hooks.check(session, { kind: "pre-upload", verb: "STOR", path: "/in/a.pdf" });
 * ```
 */
export class HookRunner {
  /** The counters, for metrics. */
  readonly stats: HookStats = new HookStats();
  /** Registers with the server's events: turns logged events into background hook runs. */
  readonly listener: EventListener;
  readonly #settings: HookSettings;
  readonly #logger: Logger;
  readonly #translator: HookEventTranslator;
  readonly #byEvent = new Map<HookEventName, HookConfig[]>();
  readonly #queue: Job[] = [];
  #head = 0;
  #scheduled = false;
  /** Background runs in progress (pre-hooks are not counted against the limit). */
  #background = 0;
  #idle: PromiseWithResolvers<void> | undefined;
  readonly #commands = new CommandThread();

  /** Creates the runner for `settings`. */
  constructor(settings: HookSettings, options: HookRunnerOptions) {
    this.#settings = settings;
    this.#logger = options.logger;
    this.#translator = new HookEventTranslator(options.root);
    for (const hook of settings.hooks) {
      for (const event of hook.events) {
        this.#byEvent.set(event, [...(this.#byEvent.get(event) ?? []), hook]);
      }
    }
    this.listener = (event) => this.#observe(event);
  }

  /** True when some hook runs for `event`. */
  has(event: HookEventName): boolean {
    return this.#byEvent.has(event);
  }

  #observe(logged: ServerEvent): void {
    const event = this.#translator.translate(logged);
    if (!event) return;
    const hooks = this.#byEvent.get(event.event);
    if (!hooks) return;
    for (const hook of hooks) {
      if (this.#queue.length - this.#head >= this.#settings.queueSize) {
        this.stats.drop();
        this.#log("hook-dropped", event, hook, { queued: this.#queue.length - this.#head });
        continue;
      }
      this.#queue.push({ hook, event });
    }
    this.stats.queued = this.#queue.length - this.#head;
    // Started from a timer: the session that logged the event writes its reply first.
    if (!this.#scheduled && this.stats.queued > 0) {
      this.#scheduled = true;
      setTimeout(() => {
        this.#scheduled = false;
        this.#pump();
      }, 0);
    }
  }

  #pump(): void {
    while (this.#background < this.#settings.maxConcurrent && this.#head < this.#queue.length) {
      const job = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined as unknown as Job;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue.splice(0, this.#head);
        this.#head = 0;
      }
      this.#background++;
      this.stats.running++;
      this.#run(job.hook, job.event).finally(() => {
        this.#background--;
        this.stats.running--;
        this.#pump();
      });
    }
    this.stats.queued = this.#queue.length - this.#head;
    if (this.#background === 0 && this.stats.queued === 0 && !this.#scheduled) {
      this.#idle?.resolve();
      this.#idle = undefined;
    }
  }

  /** Runs a hook once and counts it; a background run's failure is logged here. */
  async #run(hook: HookConfig, event: HookEvent, background = true): Promise<HookOutcome> {
    const timeoutMs = hook.timeoutMs ?? this.#settings.timeoutMs;
    let outcome: HookOutcome;
    try {
      outcome = hook.command
        ? await this.#commands.run(hook.command, hookEnvironment(event), timeoutMs)
        : await runWebhook(hook.url!, hookPayload(event), {
          timeoutMs,
          ...(hook.headers ? { headers: hook.headers } : {}),
        });
    } catch (error) {
      outcome = { result: "error", line: "", message: String(error), ms: 0 };
    }
    this.stats.record(event.event, outcome.result);
    if (background && outcome.result !== "ok") {
      this.#log("hook-failed", event, hook, {
        result: outcome.result,
        ms: outcome.ms,
        message: outcome.message,
      });
    }
    return outcome;
  }

  #log(name: string, event: HookEvent, hook: HookConfig, fields: Record<string, LogValue>): void {
    this.#logger.info(name, {
      session: event.session,
      user: event.user,
      event: event.event,
      hook: hookLabel(hook),
      ...fields,
    });
  }

  /**
   * Runs the request's pre-hooks in order, each to its end or
   * timeout, and resolves with the refusal's reply text (the hook's first
   * output line, or a default) at the first that does not succeed, or
   * undefined when every one allows it (or none is configured).
   */
  async check(session: HookSession, request: PreHookRequest): Promise<string | undefined> {
    const { kind, verb, path } = request;
    const hooks = this.#byEvent.get(kind);
    if (!hooks) return undefined;
    const event: HookEvent = {
      event: kind,
      time: new Date(),
      session: session.id,
      user: session.user ?? "",
      peer: session.peerAddress,
      peerPort: session.peerPort,
      verb,
      path,
      localPath: this.#translator.localPath(session.id, path),
      target: "",
      localTarget: "",
      bytes: 0,
      durationMs: 0,
      ok: true,
    };
    for (const hook of hooks) {
      this.stats.running++;
      let outcome: HookOutcome;
      try {
        outcome = await this.#run(hook, event, false);
      } finally {
        this.stats.running--;
      }
      if (outcome.result === "ok") continue;
      const what = kind === "pre-upload" ? "Upload" : "Delete";
      const text = outcome.line !== ""
        ? outcome.line
        : outcome.result === "timeout"
        ? `${what} refused: the policy check timed out.`
        : `${what} refused by policy.`;
      this.#log("hook-refused", event, hook, {
        verb,
        path,
        result: outcome.result,
        ms: outcome.ms,
        message: outcome.message,
        reply: text,
      });
      return text;
    }
    return undefined;
  }

  /**
   * Lets every queued and running background run finish (each within its
   * timeout), then ends the thread that runs commands: at the server's close,
   * after the last session (whose logout is among those runs).
   */
  async close(): Promise<void> {
    if (this.#background > 0 || this.stats.queued > 0 || this.#scheduled) {
      this.#idle ??= Promise.withResolvers<void>();
      await this.#idle.promise;
    }
    this.#commands.close();
  }
}
