/**
 * Private helpers of `viz/` (not re-exported by `mod.ts`).
 *
 * @module
 */

/** Text with `& < > "` escaped for HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]!));
}

/** Base64 of bytes (for `image/png` bundles and data URLs). */
export function encodeBase64(bytes: Uint8Array): string {
  let text = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    text += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(text);
}

/** Bytes of base64 text. */
export function decodeBase64(text: string): Uint8Array {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/**
 * The grid pixel whose centre shows keypoint coordinate `v` of a cell starting at `origin`: face pixel i
 * covers grid pixels `origin + i·scale … origin + (i+1)·scale − 1`, and the face's pixel-centre convention
 * puts coordinate v at `origin + (v + 0.5)·scale − 0.5`.
 */
export function gridPixel(origin: number, v: number, scale: number): number {
  return Math.round(origin + (v + 0.5) * scale - 0.5);
}
