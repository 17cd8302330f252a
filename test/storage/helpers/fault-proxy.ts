/**
 * An HTTP proxy on loopback in front of a test server, to make the faults real servers make: a 5xx
 * (or 503 SlowDown) for the first requests, a slow body, a connection cut after N bytes. It keeps
 * every request's method, URL and Range header so tests can see retries and resumes. Host headers
 * pass through unchanged, so S3 signatures still verify.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export interface FaultPlan {
  /** Answer this status to the first `count` requests matching `match` (default: all). */
  failFirst?: { count: number; status: number; match?: (req: http.IncomingMessage) => boolean };
  /** Pause this long after each 64 KiB of a response body. */
  slowMsPer64k?: number;
  /** Cut the connection after this many body bytes of responses matching `match`, `times` times. */
  cutAfterBytes?: { bytes: number; times: number; match?: (req: http.IncomingMessage) => boolean };
}

export interface SeenRequest {
  method: string;
  url: string;
  range?: string;
  status?: number;
}

export interface FaultProxy {
  port: number;
  endpoint: string;
  seen: SeenRequest[];
  plan: FaultPlan;
  close(): Promise<void>;
}

function drainOrClose(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

export async function startFaultProxy(targetPort: number, plan: FaultPlan = {}): Promise<FaultProxy> {
  const seen: SeenRequest[] = [];
  let failed = 0;
  let cut = 0;
  const state = { plan };
  const server = http.createServer((req, res) => {
    const entry: SeenRequest = { method: req.method ?? "GET", url: req.url ?? "/", range: req.headers.range };
    seen.push(entry);
    const p = state.plan;
    if (p.failFirst && failed < p.failFirst.count && (p.failFirst.match?.(req) ?? true)) {
      failed++;
      entry.status = p.failFirst.status;
      req.resume();
      res.writeHead(p.failFirst.status, { "content-type": "application/xml" });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${p.failFirst.status === 503 ? "SlowDown" : "InternalError"}</Code><Message>injected</Message></Error>`);
      return;
    }
    const cutThis = p.cutAfterBytes && cut < p.cutAfterBytes.times && (p.cutAfterBytes.match?.(req) ?? true);
    if (cutThis) cut++;
    const up = http.request({ host: "127.0.0.1", port: targetPort, method: req.method, path: req.url, headers: req.headers, agent: false }, async (upRes) => {
      entry.status = upRes.statusCode;
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      let sent = 0;
      let sinceSleep = 0;
      try {
        for await (const chunk of upRes as AsyncIterable<Buffer>) {
          let c = chunk;
          if (cutThis && sent + c.length > p.cutAfterBytes!.bytes) {
            c = c.subarray(0, p.cutAfterBytes!.bytes - sent);
            res.write(c);
            await sleep(20);
            res.socket?.destroy();
            upRes.destroy();
            return;
          }
          sent += c.length;
          sinceSleep += c.length;
          if (res.destroyed) break;
          if (!res.write(c)) await drainOrClose(res);
          if (p.slowMsPer64k && sinceSleep >= 65536) {
            sinceSleep = 0;
            await sleep(p.slowMsPer64k);
          }
        }
      } catch {
        // the upstream response was torn down because the client went away
        return;
      }
      res.end();
    });
    up.on("error", () => res.destroy());
    // A client that goes away (a killed pull) must not leave the upstream connection open.
    res.on("close", () => up.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    seen,
    get plan() {
      return state.plan;
    },
    set plan(p: FaultPlan) {
      state.plan = p;
      failed = 0;
      cut = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
