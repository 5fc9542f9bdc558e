/**
 * Starts a ferry server in-process for tests: port 0, a fresh temporary
 * root, a credentials file with known users, logs kept in memory.
 *
 * @module
 */

import { formatCredentials, hashPassword, type UserRecord } from "../../server/auth/mod.ts";
import type { UserSettings } from "../../server/auth/user_settings.ts";
import { DEFAULT_CONFIG, type ServerConfig } from "../../server/config.ts";
import { Logger } from "../../server/log.ts";
import { FtpServer } from "../../server/server.ts";
import type { Storage } from "../../server/storage/storage.ts";

/** A test user: name, password, home and permissions. */
export interface TestUser {
  name: string;
  password: string;
  home?: string;
  permissions?: string;
  /** Quotas, rates, max sessions, address rules. */
  settings?: UserSettings;
}

/** The users every test server has unless told otherwise. */
export const DEFAULT_TEST_USERS: TestUser[] = [
  { name: "alice", password: "wonderland", home: "/", permissions: "elradfmwMT" },
  { name: "reader", password: "readonly", home: "/", permissions: "elr" },
  { name: "jailed", password: "jailpass", home: "/home/jailed", permissions: "elradfmwMT" },
];

/** A running test server and where it lives. */
export interface TestServer {
  server: FtpServer;
  /** The IPv4 control port (also used on ::1 when listening there). */
  port: number;
  /** The served root (a temporary directory). */
  root: string;
  /** Log lines written so far. */
  logs: string[];
  /** Stops the server and removes the temporary directory. */
  close(): Promise<void>;
}

/** Options for {@linkcode startTestServer}. */
export interface TestServerOptions {
  users?: TestUser[];
  config?: Partial<ServerConfig>;
  /** Every user's storage (for example a `MemoryStorage`) instead of the disk under `root`. */
  storage?: Storage;
}

/** Starts a server on 127.0.0.1 (and ::1 if asked) with a temporary root. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-test-" });
  const root = `${dir}/root`;
  await Deno.mkdir(root);
  const records: UserRecord[] = [];
  for (const user of options.users ?? DEFAULT_TEST_USERS) {
    records.push({
      name: user.name,
      passwordHash: await hashPassword(user.password, { cost: 1024 }),
      home: user.home ?? "/",
      permissions: user.permissions ?? "elradfmwMT",
      ...(user.settings ? { settings: user.settings } : {}),
    });
  }
  const credentials = `${dir}/credentials.txt`;
  await Deno.writeTextFile(credentials, formatCredentials(records));
  const logs: string[] = [];
  const server = await FtpServer.start(
    {
      ...DEFAULT_CONFIG,
      hosts: ["127.0.0.1"],
      port: 0,
      root,
      credentials,
      ...options.config,
    },
    {
      logger: new Logger((line) => logs.push(line), {
        format: options.config?.logFormat ?? "text",
      }),
      ...(options.storage ? { openStorage: () => Promise.resolve(options.storage!) } : {}),
    },
  );
  return {
    server,
    port: server.addresses[0]!.port,
    root: server.root,
    logs,
    async close() {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
