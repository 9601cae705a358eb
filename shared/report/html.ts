import type { CoverageBar, RunReport } from './model';

/**
 * The run report as one self-contained HTML page: inline CSS, an inline SVG chart, no script, no
 * font, no image, no link; a Content-Security-Policy that forbids loading anything. Every value
 * from the records goes through esc() (cluster names, messages and reasons are user data).
 */
export function renderRunReportHtml(r: RunReport): string {
  const title = `sensorfleet run ${r.run.runId}: ${r.run.status}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Rollout run <code>${esc(r.run.runId)}</code> <span class="status status-${esc(r.run.status)}" id="run-status">${esc(r.run.status)}</span></h1>
<p>${esc(r.run.baselineVersion ?? '(no baseline)')} → <strong>${esc(r.run.targetVersion)}</strong>; started ${esc(r.run.startedAt)}${r.run.finishedAt ? `, finished ${esc(r.run.finishedAt)}` : ''}; trigger ${esc(r.run.trigger.source)}${r.run.trigger.requestedBy ? ` by ${esc(r.run.trigger.requestedBy)}` : ''}.</p>
${r.run.halt && r.run.status === 'halted' ? `<p class="halt" id="halt">Halted in ring ${r.run.halt.ring} at ${esc(r.run.halt.at)}: ${esc(r.run.halt.reason)}</p>` : ''}
${r.run.endReason ? `<p id="end-reason">${esc(r.run.endReason)}</p>` : ''}
<p id="totals">${r.totals.clusters} cluster(s); ${r.totals.nodes.covered}/${r.totals.nodes.total} nodes covered (${r.totals.coveragePercent}%); ${r.totals.attention} need attention. Report generated ${esc(r.generatedAt)}.</p>
</header>
<section>
<h2>Coverage</h2>
${coverageChart(r)}
</section>
<section>
<h2>Needs attention</h2>
${r.attention.length === 0 ? '<p id="attention-none">Nothing needs attention.</p>' : attentionTable(r)}
</section>
<section>
<h2>Rings</h2>
<table id="rings"><thead><tr><th>Ring</th><th>Name</th><th>Clusters</th><th>Answered ok</th><th>Failed</th><th>Gate</th></tr></thead><tbody>
${r.rings.map((g) => `<tr data-ring="${g.ring}"><td>${g.ring}</td><td>${esc(g.name)}</td><td>${g.clusters}</td><td>${g.ok}</td><td>${g.failed}</td><td>${g.gate ? `${esc(g.gateVerdict ?? 'not asked')}${g.gateReason ? `: ${esc(g.gateReason)}` : ''}` : 'no gate'}</td></tr>`).join('\n')}
</tbody></table>
</section>
<section>
<h2>Clusters</h2>
<table id="clusters"><thead><tr><th>Cluster</th><th>Platform</th><th>Ring</th><th>Running</th><th>Desired</th><th>Nodes covered</th><th>Outcome</th><th>Detail</th></tr></thead><tbody>
${r.clusters.map((c) => `<tr data-cluster="${esc(c.cluster)}"><td>${esc(c.cluster)}</td><td>${esc(c.platform)}</td><td>${c.ring ?? '-'}</td><td>${esc(c.sensorVersion ?? '-')}</td><td>${esc(c.desiredVersion ?? '-')}</td><td>${c.nodes.covered}/${c.nodes.total}</td><td>${esc(c.outcome)}</td><td>${esc(c.message)}</td></tr>`).join('\n')}
</tbody></table>
</section>
<section>
<h2>Timeline</h2>
<ol id="timeline">
${r.timeline.map((t) => `<li class="tl-${t.kind}"><time>${esc(t.at)}</time> ${t.cluster ? `<code>${esc(t.cluster)}</code> ` : ''}${esc(t.event)}</li>`).join('\n')}
</ol>
</section>
</body>
</html>
`;
}

function attentionTable(r: RunReport): string {
  const rows = r.attention.map(
    (a) =>
      `<tr data-cluster="${esc(a.cluster)}"><td>${esc(a.cluster)}</td><td>${esc(a.platform)}</td><td>${a.ring ?? '-'}</td><td><ul class="reasons">${a.reasons.map((x) => `<li>${esc(x)}</li>`).join('')}</ul></td><td>${
        a.nodes.length === 0 ? '-' : `<ul class="nodes">${a.nodes.map((n) => `<li><code>${esc(n.node)}</code>: ${esc(n.reason)}</li>`).join('')}</ul>`
      }</td></tr>`,
  );
  return `<table id="attention"><thead><tr><th>Cluster</th><th>Platform</th><th>Ring</th><th>Reasons</th><th>Nodes</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table>`;
}

const BAR_HEIGHT = 22;
const GAP = 8;
const LABEL_WIDTH = 220;
const BAR_WIDTH = 420;

/** Horizontal bars, one per platform then one per ring; each bar carries its figures as data-* attributes. */
function coverageChart(r: RunReport): string {
  const groups: { id: string; title: string; bars: CoverageBar[] }[] = [
    { id: 'platform', title: 'By platform', bars: r.coverage.byPlatform },
    { id: 'ring', title: 'By ring', bars: r.coverage.byRing },
  ];
  let y = 0;
  const parts: string[] = [];
  for (const g of groups) {
    parts.push(`<text class="group" x="0" y="${y + 16}">${esc(g.title)}</text>`);
    y += BAR_HEIGHT + GAP;
    for (const b of g.bars) {
      const width = Math.round((BAR_WIDTH * Math.min(100, Math.max(0, b.percent))) / 100);
      const tone = b.percent >= 100 ? 'full' : b.percent >= 90 ? 'most' : 'low';
      parts.push(
        `<g class="bar" data-group="${g.id}" data-key="${esc(b.key)}" data-covered="${b.covered}" data-total="${b.total}" data-percent="${b.percent}">` +
          `<text class="label" x="0" y="${y + 16}">${esc(b.label)}</text>` +
          `<rect class="track" x="${LABEL_WIDTH}" y="${y}" width="${BAR_WIDTH}" height="${BAR_HEIGHT}"></rect>` +
          `<rect class="fill fill-${tone}" x="${LABEL_WIDTH}" y="${y}" width="${width}" height="${BAR_HEIGHT}"><title>${esc(`${b.label}: ${b.covered}/${b.total} nodes`)}</title></rect>` +
          `<text class="value" x="${LABEL_WIDTH + BAR_WIDTH + 8}" y="${y + 16}">${b.percent}% (${b.covered}/${b.total} nodes, ${b.clusters} cluster${b.clusters === 1 ? '' : 's'})</text>` +
          `</g>`,
      );
      y += BAR_HEIGHT + GAP;
    }
    y += GAP;
  }
  const width = LABEL_WIDTH + BAR_WIDTH + 260;
  return `<svg id="coverage-chart" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Node coverage by platform and by ring" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}">
${parts.join('\n')}
</svg>`;
}

/** HTML text and attribute values. */
export function esc(value: string | number | undefined): string {
  return String(value ?? '').replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d2330;background:#fff}
h1{font-size:20px;margin:0 0 8px}h2{font-size:16px;margin:24px 0 8px;border-bottom:1px solid #dde2ea;padding-bottom:4px}
code{font:12px ui-monospace,Menlo,Consolas,monospace;background:#f2f4f8;padding:1px 4px;border-radius:3px}
.status{font-size:13px;padding:2px 8px;border-radius:10px;vertical-align:middle;background:#e6e9ef}
.status-succeeded{background:#d8f3df;color:#145c2b}.status-halted,.status-failed,.status-aborted{background:#fde2e1;color:#8a1c17}.status-running{background:#e3ecfd;color:#163d8a}
.halt{background:#fff4e5;border-left:4px solid #e08a00;padding:6px 10px}
table{border-collapse:collapse;width:100%;margin:4px 0}th,td{border-bottom:1px solid #e6e9ef;padding:4px 6px;text-align:left;vertical-align:top}th{background:#f6f7fa;font-weight:600}
ul.reasons,ul.nodes{margin:0;padding-left:16px}
#timeline{font-size:13px;padding-left:20px}#timeline time{color:#5b6476;font:12px ui-monospace,Menlo,Consolas,monospace}.tl-run{font-weight:600}
svg text{font:13px system-ui,sans-serif;fill:#1d2330}svg text.group{font-weight:600}
rect.track{fill:#eef1f5}rect.fill-full{fill:#2f9e55}rect.fill-most{fill:#e0a100}rect.fill-low{fill:#d0463c}
`;
