import net from "node:net";
import sharp from "sharp";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { FileImageStore } from "../../serving/mcp/store/file-store.js";
import { connectHttp, fakeRuntime, startMcp, textOf, type TestMcp } from "./mcp-helpers.js";

type Fake = Awaited<ReturnType<typeof fakeRuntime>>;
let runtime: Fake;
let server: TestMcp;
let runtimeReady = true;

beforeAll(async () => {
  runtime = await fakeRuntime((req, res) => {
    const ok = req.url === "/v1/models/model" && runtimeReady;
    res.writeHead(ok ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify(ok ? { name: "model", ready: true } : { error: "loading" }));
  });
  server = await startMcp(runtime.url, { PUBLIC_URL: "https://mcp.apps.example.com/" });
});

afterAll(async () => {
  await server?.close();
  await runtime?.close();
});

const png = (color: string) => sharp({ create: { width: 16, height: 8, channels: 3, background: color } }).png().toBuffer();

/** A request with the exact path given (fetch and undici normalise `..`), over a bare socket. */
function rawGet(port: number, target: string, host = "127.0.0.1"): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.end(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    let data = "";
    socket.on("data", (d) => (data += d));
    socket.on("end", () => resolve({ status: Number(data.split(" ")[1]), text: data }));
    socket.on("error", reject);
  });
}

describe("the image routes", () => {
  it("list images newest first, paged, with URLs under PUBLIC_URL", async () => {
    const a = await server.store.put({ bytes: await png("#ff0000"), prompt: "red", seed: 1, parameters: { width: 16 } });
    const b = await server.store.put({ bytes: await png("#0000ff"), prompt: "blue", seed: 2, parameters: {} });
    const first = await (await request(`${server.url}/images?limit=1`)).body.json() as any;
    expect(first.images).toHaveLength(1);
    expect(first.images[0]).toMatchObject({ id: b.id, prompt: "blue", seed: 2, url: `https://mcp.apps.example.com/images/${b.id}`, format: "png", width: 16, height: 8 });
    const second = await (await request(`${server.url}/images?limit=1&cursor=${encodeURIComponent(first.next_cursor)}`)).body.json() as any;
    expect(second.images.map((i: any) => i.id)).toEqual([a.id]);
    expect((await request(`${server.url}/images?limit=0`)).statusCode).toBe(400);
    expect((await request(`${server.url}/images?limit=abc`)).statusCode).toBe(400);
  });

  it("serve an image with its type from the bytes, an ETag, cache headers and 304 on a match", async () => {
    const bytes = await sharp({ create: { width: 8, height: 8, channels: 3, background: "#00ff00" } }).webp().toBuffer();
    const m = await server.store.put({ bytes, prompt: "green", seed: 3, parameters: {} });
    const res = await request(`${server.url}/images/${m.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("image/webp");
    expect(res.headers.etag).toBe(m.etag);
    expect(res.headers["cache-control"]).toBe("public, max-age=3600");
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(Buffer.from(await res.body.arrayBuffer()).equals(bytes)).toBe(true);
    const again = await request(`${server.url}/images/${m.id}`, { headers: { "if-none-match": m.etag } });
    expect(again.statusCode).toBe(304);
    await again.body.dump();
  });

  it("answer 400 for a bad name, 404 for an unknown one, and never leave the store (path traversal)", async () => {
    expect((await request(`${server.url}/images/20200101T000000000Z-unknown`)).statusCode).toBe(404);
    for (const target of ["/images/..%2F..%2Fetc%2Fpasswd", "/images/%2e%2e", "/images/..%5Cwin.ini", "/images/a.png", "/images/%00", `/images/${"a".repeat(129)}`]) {
      const r = await rawGet(Number(new URL(server.url).port), target);
      expect(r.status, target).toBe(400);
      expect(r.text).not.toContain("root:");
    }
    for (const target of ["/images/../../etc/passwd", "/images/a/../../package.json", "/images/a/b", "/images/..%2f../package.json"]) {
      const r = await rawGet(Number(new URL(server.url).port), target);
      expect([400, 404], target).toContain(r.status);
      expect(r.text).not.toMatch(/root:|"name": "diffusion-workbench"/);
    }
  });
});

describe("expired images", () => {
  it("are 404 over HTTP and unknown to get_image once the store's TTL has passed", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "mcp-ttl-"));
    let now = new Date("2026-01-01T00:00:00Z");
    const store = new FileImageStore(dir, { ttlMs: 60_000, clock: () => now });
    const ttl = await startMcp(runtime.url, {}, { store });
    const client = await connectHttp(ttl.mcpUrl);
    try {
      const m = await store.put({ bytes: await png("#ffffff"), prompt: "white", seed: 4, parameters: {} });
      const fresh = await request(`${ttl.url}/images/${m.id}`);
      expect(fresh.statusCode).toBe(200);
      await fresh.body.dump();
      now = new Date(now.getTime() + 61_000);
      const expired = await request(`${ttl.url}/images/${m.id}`);
      expect(expired.statusCode).toBe(404);
      expect(await expired.body.json()).toEqual({ error: `no image '${m.id}' (unknown, deleted or expired)` });
      const result = await client.callTool({ name: "get_image", arguments: { id: m.id } });
      expect(result.isError).toBe(true);
      expect(textOf(result as never)).toBe(`Invalid input: id: no image '${m.id}' (unknown, deleted or expired) (allowed: an id from list_images)`);
    } finally {
      await client.close();
      await ttl.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("health and metrics", () => {
  it("report the runtime and the storage, 503 while the runtime is not ready, liveness apart", async () => {
    const ok = await request(`${server.url}/health`);
    expect(ok.statusCode).toBe(200);
    expect(await ok.body.json()).toMatchObject({ status: "ok", runtime: { ok: true, url: runtime.url, model: "model" }, storage: { ok: true, kind: "file" } });
    runtimeReady = false;
    try {
      const down = await request(`${server.url}/health`);
      expect(down.statusCode).toBe(503);
      expect(await down.body.json()).toMatchObject({ status: "unavailable", runtime: { ok: false, error: "model 'model' is loading" }, storage: { ok: true } });
      const live = await request(`${server.url}/healthz`);
      expect(live.statusCode).toBe(200);
      await live.body.dump();
    } finally {
      runtimeReady = true;
    }
  });

  it("expose Prometheus metrics", async () => {
    const res = await request(`${server.url}/metrics`);
    expect(res.headers["content-type"]).toMatch(/^text\/plain/);
    const text = await res.body.text();
    expect(text).toMatch(/mcp_http_requests_total\{route="\/images\/:id",code="200"\} \d+/);
    expect(text).toContain("mcp_sessions");
  });
});

describe("DNS-rebinding protection and the bearer token", () => {
  const init = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } };
  const post = (url: string, headers: Record<string, string>) =>
    request(url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers }, body: JSON.stringify(init) });

  it("refuses a foreign Host or Origin with 403 on /mcp and the image routes, and accepts loopback and PUBLIC_URL's", async () => {
    for (const [headers, message] of [
      [{ host: "evil.example.com" }, "Invalid Host: evil.example.com (MCP_ALLOWED_HOSTS)"],
      [{ host: "evil.example.com:8000" }, "Invalid Host: evil.example.com (MCP_ALLOWED_HOSTS)"],
      [{ origin: "http://evil.example.com" }, "Invalid Origin: http://evil.example.com (MCP_ALLOWED_ORIGINS)"],
      [{ origin: "null" }, "Invalid Origin: null (MCP_ALLOWED_ORIGINS)"],
    ] as const) {
      const res = await post(`${server.url}/mcp`, headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expect(await res.body.json()).toEqual({ jsonrpc: "2.0", error: { code: -32000, message }, id: null });
      const img = await request(`${server.url}/images`, { headers });
      expect(img.statusCode).toBe(403);
      await img.body.dump();
    }
    const allowed: Record<string, string>[] = [{ host: "localhost:1234" }, { host: "mcp.apps.example.com" }, { origin: "https://mcp.apps.example.com" }, { origin: "http://localhost:6274" }];
    for (const headers of allowed) {
      const res = await post(`${server.url}/mcp`, headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(200);
      await res.body.dump();
    }
    // Probes come with the pod IP as Host.
    const probe = await request(`${server.url}/healthz`, { headers: { host: "10.128.2.17:8000" } });
    expect(probe.statusCode).toBe(200);
    await probe.body.dump();
  });

  it("answers 400 and 404 for requests outside a session", async () => {
    const list = { jsonrpc: "2.0", id: 2, method: "tools/list" };
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    const none = await request(`${server.url}/mcp`, { method: "POST", headers, body: JSON.stringify(list) });
    expect(none.statusCode).toBe(400);
    expect(((await none.body.json()) as any).error.message).toMatch(/initialize/);
    const stale = await request(`${server.url}/mcp`, { method: "POST", headers: { ...headers, "mcp-session-id": "gone" }, body: JSON.stringify(list) });
    expect(stale.statusCode).toBe(404);
    await stale.body.dump();
  });

  it("requires MCP_AUTH_TOKEN as a bearer token on /mcp when it is set", async () => {
    const token = "s3cret-token-0123456789";
    const guarded = await startMcp(runtime.url, { MCP_AUTH_TOKEN: token });
    try {
      const missing = await post(`${guarded.url}/mcp`, {});
      expect(missing.statusCode).toBe(401);
      expect(missing.headers["www-authenticate"]).toBe('Bearer realm="mcp", error="invalid_request"');
      await missing.body.dump();
      const wrong = await post(`${guarded.url}/mcp`, { authorization: "Bearer nope" });
      expect(wrong.statusCode).toBe(401);
      expect(wrong.headers["www-authenticate"]).toBe('Bearer realm="mcp", error="invalid_token"');
      await wrong.body.dump();
      await expect(connectHttp(guarded.mcpUrl)).rejects.toThrow();

      const client = await connectHttp(guarded.mcpUrl, { authorization: `Bearer ${token}` });
      expect((await client.listTools()).tools).toHaveLength(4);
      await client.close();
      // Image URLs are handed to people and stay open.
      const images = await request(`${guarded.url}/images`);
      expect(images.statusCode).toBe(200);
      await images.body.dump();
    } finally {
      await guarded.close();
    }
  });
});
