/**
 * `ferry serve --users postgres://…`: starts the server with its users,
 * quota usage and session counts in PostgreSQL. Loaded only then, so a
 * server on the credentials file never loads the database driver.
 *
 * @module
 */

import type { ServerConfig } from "../config.ts";
import { Logger } from "../log.ts";
import { openPostgresBackend } from "../postgres/postgres_backend.ts";
import { FtpServer } from "../server.ts";
import { serverLimits, UserLimits } from "../user_limits/user_limits.ts";

/**
 * Opens the PostgreSQL backend (start-up stops with exit 2 on a wrong
 * password or a missing database) and starts the server on it; the server
 * closes the backend when it closes.
 */
export async function startWithPostgres(
  config: ServerConfig,
  url: string,
  options: { logger?: Logger } = {},
): Promise<FtpServer> {
  const logger = options.logger ?? new Logger();
  const backend = await openPostgresBackend(url, { root: config.root, logger });
  try {
    return await FtpServer.start(config, {
      logger,
      userStore: backend.store,
      limits: new UserLimits(serverLimits(config), {
        ledger: backend.ledger,
        slots: backend.slots,
      }),
    });
  } catch (error) {
    await backend.store.close();
    throw error;
  }
}
