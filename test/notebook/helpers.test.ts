import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { imageGridHtml, plotHtml, plotlyLoaderHtml, stepProgress, taskProgress, type Display } from "../../lib/index.js";

function recorder(): Display & { calls: [string, string][] } {
  const calls: [string, string][] = [];
  return {
    calls,
    html: (s) => calls.push(["html", s]),
    png: (b) => calls.push(["png", String(b.length)]),
    text: (s) => calls.push(["text", s]),
    markdown: (s) => calls.push(["markdown", s]),
  };
}

const red = { width: 2, height: 1, data: Uint8Array.from([255, 0, 0, 255, 0, 0]) };
const blue = { width: 2, height: 1, data: Uint8Array.from([0, 0, 255, 0, 0, 255]) };

describe("notebook helpers", () => {
  it("lays out a labelled grid of the exact pictures, escaping labels", async () => {
    const html = await imageGridHtml([[{ image: red, caption: "seed 1" }, { image: blue }]], {
      rowLabels: ["a <red> star"],
      columnLabels: ["euler", "ddim"],
      cellWidth: 64,
    });
    expect(html).toContain("<th style=\"padding:4px;font-weight:600\">a &lt;red&gt; star</th>");
    expect(html).toContain(">euler<");
    expect(html).toContain("seed 1");
    const pngs = [...html.matchAll(/data:image\/png;base64,([A-Za-z0-9+/=]+)/g)].map((m) => Buffer.from(m[1], "base64"));
    expect(pngs).toHaveLength(2);
    expect([...(await sharp(pngs[0]).raw().toBuffer())]).toEqual([...red.data]);
    expect([...(await sharp(pngs[1]).raw().toBuffer())]).toEqual([...blue.data]);
  });

  it("shows encoded PNG, JPEG and WebP bytes as they came, with their own content type", async () => {
    const jpeg = await sharp(Buffer.from(red.data), { raw: { width: 2, height: 1, channels: 3 } }).jpeg().toBuffer();
    const webp = await sharp(Buffer.from(blue.data), { raw: { width: 2, height: 1, channels: 3 } }).webp({ lossless: true }).toBuffer();
    const html = await imageGridHtml([[{ image: jpeg }, { image: webp }]]);
    expect(html).toContain(`data:image/jpeg;base64,${jpeg.toString("base64")}`);
    expect(html).toContain(`data:image/webp;base64,${webp.toString("base64")}`);
    await expect(imageGridHtml([[{ image: Uint8Array.from([1, 2, 3, 4]) }]])).rejects.toThrow(/image.*PNG, JPEG or WebP/);
  });

  it("draws charts from the data with the plotly library loaded once", () => {
    const html = plotHtml([{ type: "scatter", mode: "lines", name: "step time", x: [1, 2], y: [0.5, 0.25] }], { title: "per step", yTitle: "s" });
    expect(html).toMatch(/<div id="plot-[0-9a-f]{12}"/);
    expect(html).toContain('"y":[0.5,0.25]');
    expect(html).toContain("window.Plotly.newPlot");
    const loader = plotlyLoaderHtml();
    expect(loader.length).toBeGreaterThan(1_000_000);
    expect(loader).toContain("newPlot");
    expect(loader.slice(8).includes("</script>")).toBe(true);
    expect(loader.indexOf("</script")).toBe(loader.length - "</script>".length);
  });

  it("redraws one progress display per step", () => {
    const d = recorder();
    const onStep = stepProgress(d, "denoising");
    onStep({ step: 1, totalSteps: 4, timestep: 999, elapsedMs: 100 });
    onStep({ step: 4, totalSteps: 4, timestep: 1, elapsedMs: 400 });
    expect(d.calls).toHaveLength(2);
    expect(d.calls[1][1]).toContain('<progress value="4" max="4"');
    expect(d.calls[1][1]).toContain("4/4 (100%)");
    const t = taskProgress(d, 2, "grid");
    t.tick("a");
    expect(d.calls.at(-1)![1]).toContain("1/2 (50%)");
  });
});
