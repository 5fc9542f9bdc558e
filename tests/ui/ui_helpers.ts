/**
 * Browser test helpers for `ferry client ui`: Debian's chromium driven by
 * playwright-core (no browser download), a UI server in this process, a
 * page opened through the one-time link, and screenshots written to
 * tests/ui/screenshots/ (git-ignored) for a reviewer to look at.
 *
 * @module
 */

import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { startUiCommand, type UiCommandOptions } from "../../client/ui/ui_command.ts";
import type { UiServer } from "../../client/ui/ui_server.ts";

/** The system browser. */
export const CHROMIUM = "/usr/bin/chromium";

/** Why the browser tests cannot run here, or undefined. Under CI a missing browser fails. */
export function browserMissing(): string | undefined {
  try {
    Deno.statSync(CHROMIUM);
    return undefined;
  } catch {
    return `${CHROMIUM} is not installed (apt-get install chromium)`;
  }
}

/** Starts headless chromium with a fresh profile and no network of its own. */
export async function launchBrowser(): Promise<Browser> {
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // playwright makes a fresh temporary --user-data-dir for every launch and removes it.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
      "--disable-dev-shm-usage",
    ],
    timeout: 60_000,
  });
}

/** A UI server with a local folder of its own, and a page signed in through its link. */
export interface UiFixture {
  ui: UiServer;
  /** The real local folder the UI is jailed to. */
  local: string;
  context: BrowserContext;
  page: Page;
  /** Closes the page, the UI server and removes the local folder. */
  close(): Promise<void>;
}

/** Starts a UI server for a fresh local folder and opens its link in a new browser context. */
export async function openUi(
  browser: Browser,
  options: UiCommandOptions & { url?: string; local?: string } = {},
): Promise<UiFixture> {
  const local = options.local ?? await Deno.makeTempDir({ prefix: "ferry-ui-local-" });
  const ui = await startUiCommand(options.url, { ...options, local, noOpen: true });
  const context = await browser.newContext({
    viewport: { width: 1366, height: 800 },
    acceptDownloads: false,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  await page.goto(ui.link);
  await page.waitForSelector("body[data-ready=true]");
  return {
    ui,
    local,
    context,
    page,
    async close() {
      await context.close();
      await ui.close();
      if (options.local === undefined) await Deno.remove(local, { recursive: true });
    },
  };
}

/** Writes a screenshot of the page to tests/ui/screenshots/NAME.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = new URL("./screenshots/", import.meta.url);
  await Deno.mkdir(dir, { recursive: true });
  await page.screenshot({ path: new URL(`${name}.png`, dir).pathname, fullPage: false });
}

/** Fills the connect form and connects; waits for the remote listing. */
export async function connect(
  page: Page,
  form: {
    host?: string;
    port: number;
    user: string;
    password: string;
    security?: string;
    verify?: boolean;
  },
): Promise<void> {
  await page.fill("#host", form.host ?? "127.0.0.1");
  await page.fill("#port", String(form.port));
  await page.fill("#user", form.user);
  await page.fill("#password", form.password);
  if (form.security) await page.selectOption("#security", form.security);
  if (form.verify === false) await page.uncheck("#verify");
  await page.click("#connect");
  await page.waitForSelector("body.connected");
}

/** The row of `name` in a pane. */
export function row(page: Page, side: "local" | "remote", name: string) {
  return page.locator(`#${side}-pane tbody tr[data-name="${name}"]`);
}

// Functions below run in the page (serialized by playwright, outside the page's CSP);
// the test files are type-checked without the DOM library, hence `any`.
// deno-lint-ignore no-explicit-any
type PageAny = any;

/**
 * Waits until there are at least `atLeast` transfer rows, all in a final
 * state; returns the states by label.
 */
export async function settled(page: Page, atLeast = 1): Promise<Record<string, string>> {
  await page.waitForFunction((count: number) => {
    const rows: PageAny[] = [
      ...(globalThis as PageAny).document.querySelectorAll("#queue-body tr"),
    ];
    return rows.length >= count &&
      rows.every((row) => ["done", "skipped", "failed", "cancelled"].includes(row.dataset.state));
  }, atLeast);
  return await queueStates(page);
}

/** The transfer rows' states by label. */
export async function queueStates(page: Page): Promise<Record<string, string>> {
  return await page.evaluate(() =>
    Object.fromEntries(
      [...(globalThis as PageAny).document.querySelectorAll("#queue-body tr")].map((
        row: PageAny,
      ) => [row.querySelector(".label").textContent, row.dataset.state]),
    )
  );
}

/** The transfer rows' status texts by label (errors included). */
export async function queueTexts(page: Page): Promise<Record<string, string>> {
  return await page.evaluate(() =>
    Object.fromEntries(
      [...(globalThis as PageAny).document.querySelectorAll("#queue-body tr")].map((
        row: PageAny,
      ) => [row.querySelector(".label").textContent, row.querySelector("td.state").textContent]),
    )
  );
}
