import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // ONNX Runtime sessions are heavy; two cores here, so keep files from oversubscribing them.
    fileParallelism: true,
    maxWorkers: 2,
    pool: "forks",
  },
});
