import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
/** ../shared beside the checkout (CI has it); tests that need it skip with a message when it is absent. */
export const sharedDir = path.resolve(repoRoot, "..", "shared");
export const fixtureDir = path.join(sharedDir, "fixtures", "tiny-sd-diffusers");
export const hasFixture = existsSync(path.join(fixtureDir, "cases.json"));
export const SKIP_FIXTURE_MESSAGE = `skipped: ${fixtureDir} not found (it is beside the checkout in CI)`;
