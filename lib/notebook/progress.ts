/** A progress line that updates in place (tslab's `newDisplay()` overwrites its own output). */
import type { StepProgress } from "../diffusion/stable-diffusion.js";
import { escapeHtml, type Display } from "./display.js";

function bar(done: number, total: number, label: string, extra: string): string {
  const pct = total ? Math.round((100 * done) / total) : 100;
  return (
    `<div style="font-family:monospace">${escapeHtml(label)} ` +
    `<progress value="${done}" max="${total}" style="width:240px;vertical-align:middle"></progress> ` +
    `${done}/${total} (${pct}%) ${escapeHtml(extra)}</div>`
  );
}

/**
 * Returns an `onStep` callback for `generate` that redraws one progress bar.
 * @param display a display that overwrites itself, e.g. `tslab.newDisplay()`
 */
export function stepProgress(display: Display, label = "denoising"): (p: StepProgress) => void {
  return (p) => display.html(bar(p.step, p.totalSteps, label, `${(p.elapsedMs / 1000).toFixed(1)} s`));
}

/** Progress over a loop of tasks (e.g. a grid of generations): call `tick(what)` after each. */
export function taskProgress(display: Display, total: number, label: string): { tick(what?: string): void } {
  let done = 0;
  const start = performance.now();
  display.html(bar(0, total, label, ""));
  return {
    tick(what = "") {
      done++;
      display.html(bar(done, total, label, `${what} ${((performance.now() - start) / 1000).toFixed(1)} s`.trim()));
    },
  };
}
