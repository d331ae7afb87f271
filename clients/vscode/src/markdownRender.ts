// Renders answer markdown to HTML for the answer webview. Raw HTML in the model's output is
// escaped (markdown-it `html: false`), and markdown-it's link validation drops javascript:,
// vbscript:, file: and non-image data: URLs, so the result is safe to set as innerHTML.

import MarkdownIt from 'markdown-it';

const markdown = new MarkdownIt({
  html: false,
  linkify: true,
  breaks: false,
  typographer: false,
});

export function renderMarkdown(text: string): string {
  return markdown.render(text);
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for use in HTML element content or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]);
}
