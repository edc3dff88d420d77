import type { MiningReport } from './stats.js';

const COLOURS = { positives: '#2a9d8f', selected: '#e76f51', removedByMethod: '#8d99ae' } as const;
const LABELS = { positives: 'positives', selected: 'mined negatives', removedByMethod: 'removed by the method' } as const;

/**
 * Draws the three score histograms of a mining report as one SVG (densities, so groups of
 * different sizes compare): where the kept negatives sit against the positives and what the
 * filter removed. No dependencies; open it in any browser.
 */
export function histogramSvg(report: MiningReport, title = 'Teacher scores'): string {
  const { edges } = report.histograms;
  const groups = (['positives', 'selected', 'removedByMethod'] as const).map((name) => {
    const counts = report.histograms[name];
    const total = counts.reduce((a, b) => a + b, 0) || 1;
    return { name, density: counts.map((c) => c / total) };
  });
  const W = 720;
  const H = 360;
  const pad = { l: 50, r: 20, t: 40, b: 50 };
  const bins = edges.length - 1;
  const maxD = Math.max(0.001, ...groups.flatMap((g) => g.density));
  const x = (i: number) => pad.l + (i / bins) * (W - pad.l - pad.r);
  const y = (d: number) => H - pad.b - (d / maxD) * (H - pad.t - pad.b);
  const bw = (W - pad.l - pad.r) / bins / groups.length;
  const bars = groups
    .map((g, gi) =>
      g.density
        .map((d, i) => (d > 0 ? `<rect x="${(x(i) + gi * bw).toFixed(1)}" y="${y(d).toFixed(1)}" width="${bw.toFixed(1)}" height="${(H - pad.b - y(d)).toFixed(1)}" fill="${COLOURS[g.name]}"/>` : ''))
        .join(''),
    )
    .join('\n');
  const ticks = [0, Math.floor(bins / 2), bins].map((i) => `<text x="${x(i).toFixed(1)}" y="${H - pad.b + 18}" font-size="12" text-anchor="middle">${edges[i]!.toFixed(2)}</text>`).join('');
  const legend = groups
    .map(
      (g, i) =>
        `<rect x="${pad.l + i * 200}" y="12" width="12" height="12" fill="${COLOURS[g.name]}"/><text x="${pad.l + i * 200 + 18}" y="22" font-size="12">${LABELS[g.name]} (n=${report.histograms.sampled[g.name] ?? 0})</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<rect width="${W}" height="${H}" fill="white"/>
${legend}
${bars}
<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="black"/>
${ticks}
<text x="${W / 2}" y="${H - 10}" font-size="13" text-anchor="middle">${escapeXml(title)} (density per group)</text>
</svg>
`;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}
