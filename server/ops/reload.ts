/**
 * Reload without restart (SIGHUP): reads the configuration file and the
 * environment again, re-reads the users file and the TLS certificate and
 * key, and puts them in force all at once. Settings that cannot change on a
 * running server (listening addresses, ports, paths the process was given
 * permissions for) keep their old value and are reported as needing a
 * restart. A reload that fails anywhere keeps the whole old state. Each
 * reload logs one `reload` line saying what changed, or why it failed.
 *
 * @module
 */

import type { FtpServer } from "../server.ts";
import type { Logger } from "../log.ts";
import type { XferLog } from "./xferlog.ts";
import type { AppendFile } from "./append_file.ts";
import { loadServeSettings, readServeEnv, type SettingsRequest } from "./load_settings.ts";
import {
  type EffectiveSetting,
  type EffectiveSettings,
  SettingsError,
  toServerConfig,
} from "./resolve_settings.ts";
import { type Setting, SETTINGS } from "./settings.ts";

/** What one reload did. */
export interface ReloadOutcome {
  /** False when the reload failed and the old state was kept. */
  ok: boolean;
  /** Settings (and `users`, `tls_files`) whose new value is in force. */
  changed: string[];
  /** Settings whose new value needs a restart; the old value is kept. */
  needsRestart: string[];
  /** Why the reload failed. */
  error?: string;
}

/** Options for a {@linkcode Reloader}. */
export interface ReloaderOptions {
  /** The running server. */
  server: FtpServer;
  /** Its log (its format may change). */
  logger: Logger;
  /** The command line (its flags still win over the file). */
  request: SettingsRequest;
  /** The settings the server runs with. */
  current: EffectiveSettings;
  /** The transfer log, reopened on each reload. */
  xferlog?: XferLog;
  /** The log file (`--log-file`), reopened on each reload. */
  logFile?: AppendFile;
  /** Reads the environment. */
  env?: (name: string) => string | undefined;
}

function sameValue(
  entry: Setting,
  a: EffectiveSetting | undefined,
  b: EffectiveSetting | undefined,
) {
  const shown = (value: EffectiveSetting | undefined) =>
    value === undefined ? undefined : JSON.stringify(entry.kind.toToml(value.value));
  return shown(a) === shown(b);
}

async function readOrEmpty(file: string | undefined): Promise<string> {
  if (file === undefined) return "";
  try {
    return await Deno.readTextFile(file);
  } catch {
    return "";
  }
}

/**
 * Reloads a running server's settings, users and TLS files on request.
 *
 * @example
 * ```ts
 * const reloader = new Reloader({ server, logger, request, current: settings });
 * Deno.addSignalListener("SIGHUP", () => reloader.reload());
 * ```
 */
export class Reloader {
  readonly #options: ReloaderOptions;
  #current: EffectiveSettings;
  #running: Promise<ReloadOutcome> = Promise.resolve({ ok: true, changed: [], needsRestart: [] });
  /** The users file's and TLS files' texts at the last load, to tell what changed. */
  #files: Promise<{ users: string; tls: string }>;

  /** Creates the reloader for a server started with `options.current`. */
  constructor(options: ReloaderOptions) {
    this.#options = options;
    this.#current = options.current;
    this.#files = this.#readFiles(toServerConfig(options.current));
  }

  async #readFiles(config: { credentials: string; tlsCert?: string; tlsKey?: string }) {
    return {
      users: await readOrEmpty(config.credentials),
      tls: (await readOrEmpty(config.tlsCert)) + (await readOrEmpty(config.tlsKey)),
    };
  }

  /** The settings in force. */
  get current(): EffectiveSettings {
    return this.#current;
  }

  /** Reloads (after any reload still running) and logs one line; never throws. */
  reload(): Promise<ReloadOutcome> {
    this.#running = this.#running.then(() => this.#reload());
    return this.#running;
  }

  async #reload(): Promise<ReloadOutcome> {
    const { server, logger, request, xferlog, logFile } = this.#options;
    let outcome: ReloadOutcome;
    try {
      const loaded = await loadServeSettings(request, this.#options.env ?? readServeEnv);
      const merged = new Map<string, EffectiveSetting>();
      const changed: string[] = [];
      const needsRestart: string[] = [];
      for (const entry of SETTINGS) {
        const before = this.#current.get(entry.key);
        const after = loaded.settings.get(entry.key);
        const same = sameValue(entry, before, after);
        const kept = entry.live || same ? after : before;
        if (!same) (entry.live ? changed : needsRestart).push(entry.key);
        if (kept !== undefined) merged.set(entry.key, kept);
      }
      const config = toServerConfig(merged);
      const state = await server.loadLiveState(config);
      const files = await this.#readFiles(config);
      const previous = await this.#files;
      if (files.users !== previous.users) changed.push("users");
      if (files.tls !== previous.tls) changed.push("tls_files");
      await xferlog?.reopen();
      await logFile?.reopen();
      // Nothing can fail from here on: the new state goes in force at once.
      server.replaceLiveState(state);
      logger.format = config.logFormat;
      this.#current = merged;
      this.#files = Promise.resolve(files);
      outcome = { ok: true, changed, needsRestart };
    } catch (error) {
      const message = error instanceof SettingsError
        ? error.problems.join("; ")
        : (error as Error).message.replaceAll("\n", "; ");
      outcome = { ok: false, changed: [], needsRestart: [], error: message };
    }
    server.logEvent("reload", {
      ok: outcome.ok,
      changed: outcome.ok ? outcome.changed.join(",") || "nothing" : undefined,
      needs_restart: outcome.needsRestart.join(",") || undefined,
      error: outcome.error !== undefined
        ? `${outcome.error}; kept the running settings`
        : undefined,
    });
    return outcome;
  }
}
