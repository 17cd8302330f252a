/**
 * The output surface of a notebook. tslab's `display` (and each `tslab.newDisplay()`) has these
 * methods, so notebooks pass it in; the helpers here never import tslab themselves, which keeps
 * them usable (and testable) outside a kernel.
 */
export interface Display {
  html(s: string): void;
  png(b: Uint8Array): void;
  text(s: string): void;
  markdown(s: string): void;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
