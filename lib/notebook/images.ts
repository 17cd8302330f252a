/** Images inline: one picture, or a labelled grid (prompts x seeds, schedulers x steps, ...), as HTML. */
import { encodePng } from "../images/png.js";
import type { RgbImage } from "../images/postprocess.js";
import { InvalidInputError } from "../errors.js";
import { CONTENT_TYPES, sniffImageFormat } from "../images/format.js";
import { escapeHtml, type Display } from "./display.js";

export interface GridCell {
  /** Pixels, or an encoded PNG/JPEG/WebP (what a runtime or the MCP server returns). */
  image: RgbImage | Uint8Array;
  /** Shown under the picture. */
  caption?: string;
}

export interface GridOptions {
  rowLabels?: readonly string[];
  columnLabels?: readonly string[];
  /** Displayed width of each picture in CSS pixels (default: its own width, at most 256). */
  cellWidth?: number;
  title?: string;
}

/** The MIME type of encoded image bytes, from their magic numbers. */
function encodedType(bytes: Uint8Array): string {
  const format = sniffImageFormat(bytes);
  if (!format) throw new InvalidInputError("image", "is neither pixels nor an encoded PNG, JPEG or WebP", "RgbImage, PNG, JPEG or WebP bytes");
  return CONTENT_TYPES[format];
}

async function imgTag(image: RgbImage | Uint8Array, width: number, alt: string): Promise<string> {
  const encoded = image instanceof Uint8Array;
  const type = encoded ? encodedType(image) : "image/png";
  const b64 = Buffer.from(encoded ? image : await encodePng(image)).toString("base64");
  // pixelated: small generated images are shown enlarged without blurring
  return `<img src="data:${type};base64,${b64}" width="${width}" alt="${escapeHtml(alt)}" style="image-rendering:pixelated;display:block">`;
}

/** A table of pictures with row and column labels, as one self-contained HTML fragment. */
export async function imageGridHtml(rows: readonly (readonly (GridCell | undefined)[])[], options: GridOptions = {}): Promise<string> {
  const first = rows.flat().find((c) => c !== undefined);
  const firstWidth = first && !(first.image instanceof Uint8Array) ? first.image.width : 256;
  const width = options.cellWidth ?? Math.min(firstWidth, 256);
  const th = (s: string) => `<th style="padding:4px;font-weight:600">${escapeHtml(s)}</th>`;
  const parts: string[] = ["<table style=\"border-collapse:collapse;text-align:center\">"];
  if (options.title) parts.push(`<caption style="font-weight:600;padding:4px">${escapeHtml(options.title)}</caption>`);
  if (options.columnLabels) {
    parts.push(`<tr>${options.rowLabels ? "<th></th>" : ""}${options.columnLabels.map(th).join("")}</tr>`);
  }
  for (let r = 0; r < rows.length; r++) {
    const cells: string[] = [];
    if (options.rowLabels) cells.push(th(options.rowLabels[r] ?? ""));
    for (const cell of rows[r]) {
      if (!cell) {
        cells.push("<td></td>");
        continue;
      }
      const caption = cell.caption ? `<div style="font-size:11px;max-width:${width}px">${escapeHtml(cell.caption)}</div>` : "";
      cells.push(`<td style="padding:4px;vertical-align:top">${await imgTag(cell.image, width, cell.caption ?? "")}${caption}</td>`);
    }
    parts.push(`<tr>${cells.join("")}</tr>`);
  }
  parts.push("</table>");
  return parts.join("");
}

export async function showGrid(display: Display, rows: readonly (readonly (GridCell | undefined)[])[], options: GridOptions = {}): Promise<void> {
  display.html(await imageGridHtml(rows, options));
}

/** One or more pictures (pixels or encoded bytes) in a row, each with an optional caption. */
export async function showImages(display: Display, images: readonly (RgbImage | Uint8Array)[], options: { captions?: readonly string[]; width?: number } = {}): Promise<void> {
  display.html(
    await imageGridHtml([images.map((image, i) => ({ image, caption: options.captions?.[i] }))], { cellWidth: options.width }),
  );
}
