/**
 * The hooks as a setting of the settings table: `--hook EVENT=COMMAND`
 * (repeatable; `FERRY_HOOK` holds one), and `[[hook]]` tables in the
 * configuration file, read by the same checks as everywhere else
 * ({@linkcode parseHookFlag}, {@linkcode parseHooks}).
 *
 * @module
 */

import { InvalidSettingValue, type Kind, type TomlValue } from "../ops/setting_kinds.ts";
import { type HookConfig, parseHookFlag, parseHooks } from "./hook_config.ts";

function checked<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof TypeError) throw new InvalidSettingValue(error.message);
    throw error;
  }
}

function toToml(hook: HookConfig): TomlValue {
  const table: Record<string, TomlValue> = { events: hook.events };
  if (hook.command) table.command = hook.command;
  if (hook.url) table.url = hook.url;
  if (hook.headers) table.headers = hook.headers;
  if (hook.timeoutMs !== undefined) table.timeout = hook.timeoutMs / 1000;
  return table;
}

/**
 * The kind of the `hook` setting: a list of hooks.
 *
 * @example
 * ```ts
 * import { hookList } from "./hook_setting.ts";
 * hookList().fromText("upload=/usr/local/bin/scan"); // [{ events: ["upload"], command: [...] }]
 * ```
 */
export function hookList(): Kind<HookConfig[]> {
  return {
    expected: "hooks: EVENT=COMMAND (a flag) or [[hook]] tables (the file)",
    argName: "<event=command>",
    repeatable: true,
    fromText: (text) => checked(() => [parseHookFlag(text)]),
    fromToml: (value) => checked(() => parseHooks(Array.isArray(value) ? value : [value])),
    toToml: (hooks) => hooks.map(toToml),
    // A webhook's headers may carry a token (Authorization).
    redact: (hooks) =>
      hooks.map((hook) =>
        hook.headers
          ? {
            ...hook,
            headers: Object.fromEntries(Object.keys(hook.headers).map((k) => [k, "***"])),
          }
          : hook
      ),
  };
}
