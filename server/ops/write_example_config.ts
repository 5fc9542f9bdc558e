/**
 * Writes `ferry.example.toml` from the settings table
 * (`deno task example-config`); a test checks the two agree.
 *
 * @module
 */

import { exampleToml } from "./resolve_settings.ts";

if (import.meta.main) {
  await Deno.writeTextFile(new URL("../../ferry.example.toml", import.meta.url), exampleToml());
}
