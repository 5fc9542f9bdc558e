/**
 * Loads `ferry serve`'s settings from where they live: the `--config` file
 * (or `FERRY_CONFIG`), the `FERRY_*` environment and the flags. Start-up and
 * every reload go through here.
 *
 * @module
 */

import type { ServerConfig } from "../config.ts";
import {
  type EffectiveSettings,
  type FlagValue,
  resolveSettings,
  SettingsError,
  toServerConfig,
} from "./resolve_settings.ts";
import { CONFIG_ENV } from "./settings.ts";

/** The command line's part of the settings. */
export interface SettingsRequest {
  /** The settings given as flags, by key. */
  flags: Record<string, FlagValue>;
  /** `--config FILE`. */
  configPath?: string;
}

/**
 * Reads an environment variable the server may read; undefined when it is
 * unset or this process was not allowed to read it (`--allow-env` lists the
 * `FERRY_*` names).
 */
export function readServeEnv(name: string): string | undefined {
  if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
    return undefined;
  }
  return Deno.env.get(name);
}

/** The settings of one `ferry serve` run, and where the configuration file is. */
export interface LoadedSettings {
  settings: EffectiveSettings;
  config: ServerConfig;
  /** The configuration file, when there is one. */
  configPath?: string;
}

/**
 * Resolves the settings of a `ferry serve` request: reads the configuration
 * file (`--config`, else `FERRY_CONFIG`) and the environment.
 *
 * @throws {SettingsError} (exit 2) naming the source, key and expected value of each bad setting.
 */
export async function loadServeSettings(
  request: SettingsRequest,
  env: (name: string) => string | undefined = readServeEnv,
): Promise<LoadedSettings> {
  const configPath = request.configPath ?? env(CONFIG_ENV);
  let file: { path: string; text: string } | undefined;
  if (configPath !== undefined) {
    try {
      file = { path: configPath, text: await Deno.readTextFile(configPath) };
    } catch (error) {
      throw new SettingsError([`${configPath}: cannot read: ${(error as Error).message}`]);
    }
  }
  const settings = resolveSettings({ flags: request.flags, env, ...(file ? { file } : {}) });
  return {
    settings,
    config: toServerConfig(settings),
    ...(configPath !== undefined ? { configPath } : {}),
  };
}
