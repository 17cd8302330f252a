/**
 * The logging surface the library needs. A pino logger satisfies it as is (its level methods accept a
 * message string), so servers pass theirs; scripts get `consoleLogger` (warnings to stderr only).
 */
export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {} };

export const consoleLogger: Logger = {
  debug() {},
  info() {},
  warn(msg) {
    process.stderr.write(`warning: ${msg}\n`);
  },
};
