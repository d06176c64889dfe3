/**
 * Python syntax highlighting for the tree page, done on the server with highlight.js (its core and the python
 * grammar only), so the page needs no highlighting script of its own. The result is HTML with `hljs-*` classes,
 * every character of the code escaped; tree.css colours the classes.
 */
import hljs from "highlight.js/lib/core";
import python from "highlight.js/lib/languages/python";

hljs.registerLanguage("python", python);

/** Scripts longer than this are shown escaped but not highlighted (highlighting is linear but not free). */
export const MAX_HIGHLIGHT_CHARS = 200_000;

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** The script as highlighted HTML (safe to put inside a <code> element). */
export function highlightPython(code: string): string {
  if (code.length > MAX_HIGHLIGHT_CHARS) return escapeHtml(code);
  return hljs.highlight(code, { language: "python", ignoreIllegals: true }).value;
}
