/**
 * Prometheus metrics of the MCP server (prom-client) on their own registry, so that several servers
 * can run in one process (tests): HTTP requests, tool calls by outcome, generation time, sessions.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Seconds; from a few ms (listing) to 20 minutes (SD 1.5 on a CPU). */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200];

/** How a tool call ended: ok, error (isError result, labelled by reason), cancelled. */
export type ToolOutcome = "ok" | "cancelled" | "invalid" | "not_found" | `upstream_${string}` | "storage" | "error";

export class McpMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<"route" | "code">;
  readonly toolCalls: Counter<"tool" | "outcome">;
  readonly toolSeconds: Histogram<"tool">;
  readonly imagesGenerated: Counter;
  readonly sessions: Gauge;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.httpRequests = new Counter({ name: "mcp_http_requests_total", help: "HTTP requests by route and status code", labelNames: ["route", "code"], registers });
    this.toolCalls = new Counter({ name: "mcp_tool_calls_total", help: "tool calls by tool and outcome", labelNames: ["tool", "outcome"], registers });
    this.toolSeconds = new Histogram({ name: "mcp_tool_duration_seconds", help: "tool call time, upstream generation included", labelNames: ["tool"], buckets: BUCKETS, registers });
    this.imagesGenerated = new Counter({ name: "mcp_images_generated_total", help: "images generated and stored", registers });
    this.sessions = new Gauge({ name: "mcp_sessions", help: "open Streamable HTTP sessions", registers });
  }
}
