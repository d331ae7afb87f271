// Tests for markdown rendering (escaping, unsafe links) and the answer webview page.

import * as assert from 'assert';
import { initialAnswerState } from '../src/answerProgress';
import { buildAnswerPage, buildStateMessage, contentSecurityPolicy, isPageMessage } from '../src/answerPage';
import { escapeHtml, renderMarkdown } from '../src/markdownRender';

describe('markdown rendering', () => {
  it('renders markdown: headings, code fences, lists', () => {
    const html = renderMarkdown('# Fix\n\n- raise `memory`\n\n```yaml\nresources: {}\n```\n');
    assert.match(html, /<h1>Fix<\/h1>/);
    assert.match(html, /<li>raise <code>memory<\/code><\/li>/);
    assert.match(html, /<pre><code class="language-yaml">resources: \{\}\n<\/code><\/pre>/);
  });

  it('escapes raw HTML from the model', () => {
    const html = renderMarkdown('hello <script>alert(1)</script> <img src=x onerror=alert(1)>');
    assert.ok(!html.includes('<script'), html);
    assert.ok(!html.includes('<img'), html);
    assert.match(html, /&lt;script&gt;/);
  });

  it('drops javascript: links', () => {
    const html = renderMarkdown('[click](javascript:alert(1))');
    assert.ok(!/href="javascript:/i.test(html), html);
  });

  it('keeps https links', () => {
    assert.match(renderMarkdown('[docs](https://nginx.org/en/docs/)'), /href="https:\/\/nginx.org\/en\/docs\/"/);
  });

  it('renders an unfinished code fence while streaming', () => {
    const html = renderMarkdown('Try:\n\n```bash\nsystemctl status');
    assert.match(html, /<pre><code class="language-bash">systemctl status\n?<\/code><\/pre>/);
  });

  it('escapeHtml escapes the five special characters', () => {
    assert.strictEqual(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

describe('answer page', () => {
  const options = { cspSource: 'vscode-webview://abc', nonce: 'n0nce' };

  it('has a CSP that allows no network and only the nonce script', () => {
    const csp = contentSecurityPolicy(options);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'nonce-n0nce'/);
    assert.ok(!csp.includes('unsafe-inline'));
    assert.ok(!csp.includes('https:'));
  });

  it('builds a page with the CSP meta tag, nonce script and Stop button while streaming', () => {
    const page = buildAnswerPage(options, buildStateMessage('Ask: <why>', initialAnswerState()));
    assert.match(page, /<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;/);
    assert.match(page, /<script nonce="n0nce">/);
    assert.match(page, /<button id="stop" type="button">Stop<\/button>/);
    assert.match(page, /<h1 id="title">Ask: &lt;why&gt;<\/h1>/);
    const scripts = page.match(/<script/g) ?? [];
    assert.strictEqual(scripts.length, 1);
  });

  it('hides the Stop button once the answer is done', () => {
    const message = buildStateMessage('t', { status: 'done', text: 'ok' });
    assert.strictEqual(message.streaming, false);
    assert.match(buildAnswerPage(options, message), /<button id="stop" type="button" hidden>/);
  });

  it('state messages carry rendered, sanitised HTML and the status', () => {
    const message = buildStateMessage('t', { status: 'stopped', text: '**bold** <b>raw</b>', note: 'Stopped.' });
    assert.deepStrictEqual(
      { ...message, html: undefined },
      { type: 'state', title: 't', statusLabel: 'Stopped', streaming: false, html: undefined, note: 'Stopped.' },
    );
    assert.match(message.html, /<strong>bold<\/strong> &lt;b&gt;raw&lt;\/b&gt;/);
  });

  it('recognises only the page messages it expects', () => {
    assert.ok(isPageMessage({ type: 'stop' }));
    assert.ok(isPageMessage({ type: 'ready' }));
    assert.ok(!isPageMessage({ type: 'eval' }));
    assert.ok(!isPageMessage(null));
    assert.ok(!isPageMessage('stop'));
  });
});
