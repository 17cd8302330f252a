import { afterEach, beforeEach } from "vitest";

/**
 * A fresh fake server for every test of the calling file: started before each test and closed
 * after it, so no test sees another's recorded requests or stored objects. `use` is handed each
 * new server (typically `(s) => (api = s)` into the file's variable).
 */
export function serverPerTest<S extends { close(): Promise<void> }>(start: () => Promise<S>, use: (server: S) => void): void {
  let server: S | undefined;
  beforeEach(async () => {
    server = await start();
    use(server);
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
}
