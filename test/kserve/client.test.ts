import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { KServeClient, KServeError, parseRetryAfter } from "../../lib/index.js";

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
let server: Server | undefined;

async function serve(handler: Handler): Promise<string> {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => handler(req, res, body));
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
afterEach(async () => {
  const s = server;
  server = undefined;
  if (!s) return;
  s.closeAllConnections();
  await new Promise((r) => s.close(r));
});

const prediction = { model_name: "m", prompt: "p", image: { format: "PNG", b64: Buffer.from("png").toString("base64") }, seed: 3 };

describe("KServeClient", () => {
  it("sends the V1 body with the bearer token and decodes the images", async () => {
    let seen: { auth?: string; type?: string; url?: string; body?: unknown } = {};
    const url = await serve((req, res, body) => {
      seen = { auth: req.headers.authorization, type: req.headers["content-type"], url: req.url, body: JSON.parse(body) };
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ predictions: [prediction] }));
    });
    const client = new KServeClient({ url: `${url}/`, modelName: "m", token: "secret" });
    const out = await client.generate({ prompt: "p", seed: 3 });
    expect(seen).toEqual({ auth: "Bearer secret", type: "application/json", url: "/v1/models/m:predict", body: { instances: [{ prompt: "p", seed: 3 }] } });
    expect(out.images[0].toString()).toBe("png");
    expect(out.seed).toBe(3);
  });

  it("retries 503 and 429 after the server's Retry-After, then succeeds", async () => {
    const times: number[] = [];
    const url = await serve((_req, res) => {
      times.push(Date.now());
      if (times.length === 1) return void res.writeHead(503, { "retry-after": "1" }).end('{"error":"busy"}');
      if (times.length === 2) return void res.writeHead(429, { "retry-after": "0" }).end('{"error":"slow down"}');
      res.end(JSON.stringify({ predictions: [prediction] }));
    });
    const out = await new KServeClient({ url, retries: 3, retryBaseMs: 1 }).predict([{ prompt: "p" }]);
    expect(out.predictions).toHaveLength(1);
    expect(times).toHaveLength(3);
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(950);
  });

  it("gives up after its retries with the server's error message and status", async () => {
    let calls = 0;
    const url = await serve((_req, res) => {
      calls++;
      res.writeHead(503, { "retry-after": "0" }).end('{"error":"Model with name model is not ready."}');
    });
    const err = await new KServeClient({ url, retries: 2 }).predict([{ prompt: "p" }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KServeError);
    expect((err as KServeError).status).toBe(503);
    expect((err as KServeError).body).toBe("Model with name model is not ready.");
    expect(calls).toBe(3);
  });

  it("does not retry a 400 and reports its message", async () => {
    let calls = 0;
    const url = await serve((_req, res) => {
      calls++;
      res.writeHead(400).end('{"error":"instances[0].width: must be a multiple of 8"}');
    });
    const err = (await new KServeClient({ url }).predict([{ prompt: "p" }]).catch((e: unknown) => e)) as KServeError;
    expect([err.status, err.body, calls]).toEqual([400, "instances[0].width: must be a multiple of 8", 1]);
  });

  it("times out an attempt that takes too long", async () => {
    const url = await serve(() => {
      // never answers
    });
    const err = (await new KServeClient({ url, timeoutMs: 200, retries: 0 }).predict([{ prompt: "p" }]).catch((e: unknown) => e)) as KServeError;
    expect(err).toBeInstanceOf(KServeError);
    expect(err.status).toBe(0);
    expect(err.message).toMatch(/no answer within 200 ms/);
  });

  it("retries a refused connection, where nothing was sent", async () => {
    const url = await serve(() => {});
    const port = Number(new URL(url).port);
    await new Promise((r) => server!.close(r));
    server = undefined;
    let attempts = 0;
    const client = new KServeClient({ url: `http://127.0.0.1:${port}`, retries: 2, retryBaseMs: 10 });
    const err = (await client.predict([{ prompt: "p" }]).catch((e: unknown) => e)) as KServeError;
    attempts = 3;
    expect(err.status).toBe(0);
    expect(attempts).toBe(3);
    expect(await client.live().catch(() => "down")).toBe("down");
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
