/**
 * `ferry client ui [URL] [--local DIR] [--listen 127.0.0.1:PORT] [--no-open]`:
 * starts the browser client's server on loopback, prints the link with its
 * one-time token, opens the default browser when it can, and runs until
 * Ctrl-C (SIGINT) or SIGTERM.
 *
 * @module
 */

import { ClientError, ExitCode } from "../errors.ts";
import { readCaFile } from "../tls/settings.ts";
import { parseFtpUrl } from "../url.ts";
import { LocalJail, LocalPathError } from "./local_jail.ts";
import { startUiServer, type UiServer } from "./ui_server.ts";

/** The options of `ferry client ui`. */
export interface UiCommandOptions {
  /** The local folder. @default {"."} */
  local?: string;
  /** "127.0.0.1:PORT", "[::1]:PORT" or a port alone. @default {"127.0.0.1:0"} */
  listen?: string;
  /** Do not start a browser. */
  noOpen?: boolean;
  /** Transfers at once. @default {2} */
  parallel?: number;
  /** Also trust the certificates in this PEM file. */
  caFile?: string;
  /** Connect and reply timeout, in seconds. @default {30} */
  timeout?: number;
}

/**
 * Splits `--listen` into an address and a port.
 *
 * @throws {ClientError} (exit 2) If it is not ADDRESS:PORT or PORT.
 *
 * @example
 * ```ts
 * parseListen("127.0.0.1:8080"); // { hostname: "127.0.0.1", port: 8080 }
 * ```
 */
export function parseListen(text: string): { hostname: string; port: number } {
  const match = text.match(/^(?:\[([0-9a-fA-F:]+)\]|([^:\[\]]+)):(\d+)$/) ??
    text.match(/^()()(\d+)$/);
  const port = Number(match?.[3]);
  if (!match || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ClientError(`--listen: expected ADDRESS:PORT, got ${text}`, ExitCode.Usage);
  }
  let hostname = match[1] || match[2] || "127.0.0.1";
  if (hostname === "localhost") hostname = "127.0.0.1";
  return { hostname, port };
}

/** The command that opens a URL in the default browser here, if this process may run it. */
async function _opener(): Promise<string[] | undefined> {
  const command = Deno.build.os === "darwin"
    ? ["open"]
    : Deno.build.os === "windows"
    ? ["explorer.exe"]
    : ["xdg-open"];
  const status = await Deno.permissions.query({ name: "run", command: command[0]! });
  return status.state === "granted" ? command : undefined;
}

/** Starts the UI server for the command's options (used by the command and tests). */
export async function startUiCommand(
  url: string | undefined,
  options: UiCommandOptions,
): Promise<UiServer> {
  const { hostname, port } = parseListen(options.listen ?? "127.0.0.1:0");
  let jail: LocalJail;
  try {
    jail = await LocalJail.open(options.local ?? ".");
  } catch (error) {
    if (error instanceof LocalPathError) throw new ClientError(error.message, ExitCode.Usage);
    throw error;
  }
  const ca = options.caFile === undefined ? undefined : await readCaFile(options.caFile);
  try {
    return await startUiServer({
      jail,
      hostname,
      port,
      ...(url === undefined ? {} : { url: parseFtpUrl(url) }),
      ...(options.parallel === undefined ? {} : { parallel: options.parallel }),
      ...(ca === undefined ? {} : { ca }),
      ...(options.timeout === undefined ? {} : { timeoutMs: options.timeout * 1000 }),
    });
  } catch (error) {
    if (error instanceof RangeError) throw new ClientError(error.message, ExitCode.Usage);
    if (error instanceof Deno.errors.AddrInUse) {
      throw new ClientError(`--listen: ${hostname}:${port} is in use`, ExitCode.Usage);
    }
    throw error;
  }
}

/**
 * Runs `ferry client ui` until SIGINT or SIGTERM.
 *
 * @example
 * ```ts ignore
 * await runUi("ftp://demo@127.0.0.1:2121/", { local: ".", noOpen: true });
 * ```
 */
export async function runUi(url: string | undefined, options: UiCommandOptions): Promise<void> {
  const ui = await startUiCommand(url, options);
  const write = (text: string) => Deno.stdout.writeSync(new TextEncoder().encode(text));
  write(
    `ferry client ui: serving ${ui.origin} (loopback only). Open this link; it works once:\n` +
      `  ${ui.link}\nPress Ctrl-C to stop.\n`,
  );
  const opener = options.noOpen ? undefined : await _opener();
  if (opener) {
    try {
      const child = new Deno.Command(opener[0]!, {
        args: [...opener.slice(1), ui.link],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      child.status.catch(() => {});
    } catch {
      write("ferry client ui: could not start a browser; open the link above.\n");
    }
  }
  const stop = () => ui.close();
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  try {
    await ui.finished;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
  }
}
