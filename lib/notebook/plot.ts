/**
 * plotly charts as HTML outputs. plotly.js (the plotly.js-dist-min package) is put into the notebook
 * once by `plotlyLoaderHtml()`; each chart is then a small <div> with a newPlot call, so a notebook
 * with many charts carries the library once.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { randomBytes } from "node:crypto";
import type { Display } from "./display.js";

const require = createRequire(import.meta.url);

export interface PlotTrace {
  type?: "scatter" | "bar" | "box" | "histogram";
  mode?: "lines" | "markers" | "lines+markers";
  name?: string;
  x?: readonly (number | string)[];
  y: readonly number[];
  [key: string]: unknown;
}

export interface PlotLayout {
  title?: string;
  xTitle?: string;
  yTitle?: string;
  width?: number;
  height?: number;
  barmode?: "group" | "stack";
}

/** A <script> defining window.Plotly, to display once before the charts. */
export function plotlyLoaderHtml(): string {
  const js = readFileSync(require.resolve("plotly.js-dist-min/plotly.min.js"), "utf8");
  // "</script" cannot appear inside an inline script
  return `<script type="text/javascript">${js.replaceAll("</script", "<\\/script")}</script>`;
}

/** One chart: a div and the newPlot call. The data travel as JSON. */
export function plotHtml(traces: readonly PlotTrace[], layout: PlotLayout = {}): string {
  const id = `plot-${randomBytes(6).toString("hex")}`;
  const plotlyLayout = {
    title: layout.title ? { text: layout.title } : undefined,
    xaxis: layout.xTitle ? { title: { text: layout.xTitle } } : undefined,
    yaxis: layout.yTitle ? { title: { text: layout.yTitle } } : undefined,
    width: layout.width ?? 720,
    height: layout.height ?? 400,
    barmode: layout.barmode,
    margin: { t: layout.title ? 50 : 20, l: 60, r: 20, b: 50 },
  };
  const json = (v: unknown) => JSON.stringify(v).replaceAll("</", "<\\/");
  return (
    `<div id="${id}" class="plotly-chart" style="width:${plotlyLayout.width}px;height:${plotlyLayout.height}px"></div>` +
    `<script type="text/javascript">(function(){var d=${json(traces)},l=${json(plotlyLayout)};` +
    `function draw(){if(window.Plotly){window.Plotly.newPlot("${id}",d,l,{responsive:true});}else{setTimeout(draw,100);}}draw();})();</script>`
  );
}

export function showPlot(display: Display, traces: readonly PlotTrace[], layout: PlotLayout = {}): void {
  display.html(plotHtml(traces, layout));
}
