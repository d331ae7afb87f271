"""``GET /ui``: one page, served by the same app, over the gateway's own API: usage over time and by key,
model and variant (SVG bar charts), the running experiments with their figures, and the keys (admin only).

The page holds no data and no secret: it asks for a key, keeps it in the tab's ``sessionStorage``, and calls
``/v1/usage``, ``/v1/experiments`` and ``/v1/admin/keys`` with it, so it shows exactly what that key may see.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter()

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Aletheia: usage</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body { font: 14px system-ui, sans-serif; margin: 1.5rem; color: #222; max-width: 70rem; }
 h1 { font-size: 1.3rem; } h2 { font-size: 1.05rem; margin-top: 1.6rem; }
 table { border-collapse: collapse; margin: .4rem 0; } td, th { border: 1px solid #ccc; padding: .2rem .5rem; }
 th { background: #f3f3f3; text-align: left; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
 .charts { display: flex; flex-wrap: wrap; gap: 1.5rem; } .chart { min-width: 20rem; }
 rect.bar { fill: #3b6ea8; } text { font-size: 11px; } #status { color: #a33; }
</style></head>
<body>
<h1>Aletheia: usage, experiments, keys</h1>
<form id="login"><label>API key <input id="key" type="password" size="40" autocomplete="off"></label>
 <button type="submit">Show</button> <span id="status"></span></form>
<h2>Usage (total tokens)</h2><p id="scope"></p>
<div class="charts">
 <div class="chart"><h3>by day</h3><svg id="chart-day"></svg></div>
 <div class="chart"><h3>by key</h3><svg id="chart-key"></svg></div>
 <div class="chart"><h3>by model</h3><svg id="chart-model"></svg></div>
 <div class="chart"><h3>by variant</h3><svg id="chart-variant"></svg></div>
</div>
<h2>Experiments</h2><div id="experiments"></div>
<h2>Keys</h2><div id="keys"></div>
<script>
const LABELS = {day: r => r.day, key: r => r.owner ? r.owner + ' (' + r.key_id + ')' : (r.key_id || 'no key'),
                model: r => r.model || '?', variant: r => r.experiment + ': ' + r.variant};
const esc = s => String(s).replace(/[&<>"]/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]));
async function api(path) {
  const r = await fetch(path, {headers: {Authorization: 'Bearer ' + sessionStorage.getItem('aletheia-key')}});
  return {status: r.status, body: await r.json()};
}
function chart(svg, rows, label) {
  const w = 420, bh = 18, max = Math.max(1, ...rows.map(r => r.total_tokens));
  svg.setAttribute('width', w); svg.setAttribute('height', Math.max(bh, rows.length * (bh + 4)));
  svg.innerHTML = rows.map((r, i) => {
    const y = i * (bh + 4), bw = Math.max(1, Math.round((w - 170) * r.total_tokens / max));
    return `<g class="row"><text x="0" y="${y + 13}">${esc(label(r)).slice(0, 24)}</text>` +
      `<rect class="bar" x="150" y="${y}" width="${bw}" height="${bh}" data-label="${esc(label(r))}" ` +
      `data-value="${r.total_tokens}" data-requests="${r.requests}"></rect>` +
      `<text x="${154 + bw}" y="${y + 13}">${r.total_tokens}</text></g>`;
  }).join('');
}
const ci = f => f.mean === null ? '-' : `${f.mean.toFixed(1)} [${f.ci95[0] === null ? '-' : f.ci95[0].toFixed(1)}, ` +
  `${f.ci95[1] === null ? '-' : f.ci95[1].toFixed(1)}]`;
const share = f => f.share === null ? '-' : `${(100 * f.share).toFixed(0)}% [${(100 * f.ci95[0]).toFixed(0)}, ` +
  `${(100 * f.ci95[1]).toFixed(0)}] of ${f.n}`;
async function load() {
  const status = document.getElementById('status'); status.textContent = '';
  for (const g of ['day', 'key', 'model', 'variant']) {
    const r = await api('/v1/usage?group_by=' + g);
    if (r.status !== 200) { status.textContent = r.body.error.message; return; }
    chart(document.getElementById('chart-' + g), r.body.data, LABELS[g]);
    document.getElementById('scope').textContent = r.body.scope === 'all' ? 'All requests.' : 'This key\\'s requests.';
  }
  const ex = await api('/v1/experiments');
  document.getElementById('experiments').innerHTML = ex.status !== 200 ? '' : (ex.body.data.map(e =>
    `<h3>${esc(e.name)}</h3><table class="experiment" data-name="${esc(e.name)}">` +
    `<tr><th>variant</th><th>weight</th>` +
    `<th>requests</th><th>errors</th><th>latency ms (95% CI)</th><th>TTFT ms</th><th>completion tokens</th>` +
    `<th>thumbs up</th></tr>` + e.variants.map(v => `<tr data-variant="${esc(v.variant)}">` +
    `<td>${esc(v.variant)}</td><td class="n">${e.weights[v.variant]}</td>` +
    `<td class="n requests">${v.requests}</td><td class="n">${v.errors}</td>` +
    `<td class="n">${ci(v.latency_ms)}</td><td class="n">${ci(v.ttft_ms)}</td>` +
    `<td class="n">${ci(v.completion_tokens)}</td>` +
    `<td class="n">${share(v.thumbs_up)}</td></tr>`).join('') + '</table>').join('') || '<p>No experiments.</p>');
  const keys = await api('/v1/admin/keys'), box = document.getElementById('keys');
  box.innerHTML = keys.status !== 200 ? '<p id="keys-denied">Keys are shown to the admin key only.</p>' :
    '<table id="keys-table"><tr><th>id</th><th>owner</th><th>state</th><th>models</th><th>rpm</th><th>tpm</th>' +
    '<th>concurrent</th><th>budget</th><th>expires</th></tr>' + keys.body.data.map(k => `<tr><td>${esc(k.id)}</td>` +
    `<td>${esc(k.owner)}</td><td>${k.state}</td><td>${esc(k.models.join(', ') || 'all')}</td>` +
    `<td>${k.rpm ?? ''}</td>` +
    `<td>${k.tpm ?? ''}</td><td>${k.max_concurrent ?? ''}</td><td>${k.budget ?? ''}</td>` +
    `<td>${k.expires_at ?? ''}</td></tr>`
    ).join('') + '</table>';
  document.body.dataset.loaded = 'yes';
}
document.getElementById('login').addEventListener('submit', ev => {
  ev.preventDefault(); sessionStorage.setItem('aletheia-key', document.getElementById('key').value);
  document.body.dataset.loaded = ''; load();
});
if (sessionStorage.getItem('aletheia-key')) load();
</script></body></html>
"""


@router.get("/ui", response_class=HTMLResponse, include_in_schema=False)
async def page() -> HTMLResponse:
    return HTMLResponse(PAGE)
