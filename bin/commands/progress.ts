/** A progress bar on a terminal (cli-progress), nothing when stderr is not one. */
import cliProgress from "cli-progress";
import type { StepProgress } from "../../lib/index.js";

export function stepProgress(enabled: boolean): { onStep?: (p: StepProgress) => void; stop(): void } {
  if (!enabled || !process.stderr.isTTY) return { stop() {} };
  const bar = new cliProgress.SingleBar(
    { format: "denoising [{bar}] {value}/{total} steps | {eta_formatted} left", stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    onStep(p) {
      if (!started) {
        bar.start(p.totalSteps, 0);
        started = true;
      }
      bar.update(p.step);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
