/**
 * How the figures are shown: one Markdown table (printed, and pasted into docs/performance.md),
 * and an SVG chart of login throughput against the hash-bound limit.
 */

export interface Row {
  figure: string;
  what: string;
  measured: string;
  reference: string;
  /** measured / reference, where that is the figure's point. */
  ratio: number | null;
  target: string;
  /** null: no target for this row. */
  met: boolean | null;
}

export const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
export const ms = (n: number) => `${n < 10 ? fmt(n, 1) : fmt(n, 0)} ms`;
export const perSecond = (n: number) => `${n < 100 ? fmt(n, 1) : fmt(n, 0)}/s`;
export const mib = (kib: number | null) => (kib === null ? 'n/a' : `${fmt(kib / 1024, 0)} MiB`);

export function markdownTable(rows: Row[]): string {
  const head = ['#', 'What', 'Measured', 'Reference (same run)', 'Ratio', 'Target', 'Met?'];
  const body = rows.map((r) => [
    r.figure,
    r.what,
    r.measured,
    r.reference,
    r.ratio === null ? '' : fmt(r.ratio),
    r.target,
    r.met === null ? '' : r.met ? 'yes' : '**NO**',
  ]);
  const line = (cells: string[]) => `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...body.map(line)].join('\n');
}

export interface ChartSeries {
  name: string;
  /** Ratio to the limit at each concurrency, in the order of the chart's groups; null: not run. */
  values: Array<number | null>;
}

const escape = (s: string) => s.replace(/[<>&"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
const COLOURS = ['#1f6feb', '#8250df', '#bf8700', '#2da44e', '#cf222e', '#57606a'];

/** Grouped bars: one group per concurrency, one bar per series, the limit at 1.0 and the target. */
export function loginChart(title: string, groups: string[], series: ChartSeries[], target: number): string {
  const width = 900;
  const height = 380;
  const left = 60;
  const right = 250;
  const top = 50;
  const bottom = 60;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const max = Math.max(1.2, ...series.flatMap((s) => s.values.map((v) => v ?? 0))) * 1.05;
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const groupW = plotW / groups.length;
  const barW = Math.min(28, (groupW * 0.8) / series.length);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${left}" y="24" font-size="15" font-weight="bold">${escape(title)}</text>`);
  for (let v = 0; v <= max; v += 0.2) {
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${fmt(y(v), 1)}" y2="${fmt(y(v), 1)}" stroke="#d0d7de" stroke-width="1"/>`);
    out.push(`<text x="${left - 8}" y="${fmt(y(v) + 4, 1)}" text-anchor="end">${fmt(v, 1)}</text>`);
  }
  out.push(`<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">logins/s ÷ hash-bound limit</text>`);
  groups.forEach((group, g) => {
    const x0 = left + g * groupW + (groupW - barW * series.length) / 2;
    series.forEach((s, i) => {
      const v = s.values[g];
      if (v === null || v === undefined) return;
      const x = x0 + i * barW;
      out.push(`<rect x="${fmt(x, 1)}" y="${fmt(y(v), 1)}" width="${fmt(barW - 3, 1)}" height="${fmt(top + plotH - y(v), 1)}" fill="${COLOURS[i % COLOURS.length]}"><title>${escape(`${s.name}, ${group}: ${fmt(v)}`)}</title></rect>`);
      out.push(`<text x="${fmt(x + (barW - 3) / 2, 1)}" y="${fmt(y(v) - 4, 1)}" text-anchor="middle" font-size="9">${fmt(v)}</text>`);
    });
    out.push(`<text x="${fmt(left + g * groupW + groupW / 2, 1)}" y="${top + plotH + 20}" text-anchor="middle">${escape(group)}</text>`);
  });
  out.push(`<line x1="${left}" x2="${left + plotW}" y1="${fmt(y(1), 1)}" y2="${fmt(y(1), 1)}" stroke="#000" stroke-width="1.5"/>`);
  out.push(`<line x1="${left}" x2="${left + plotW}" y1="${fmt(y(target), 1)}" y2="${fmt(y(target), 1)}" stroke="#cf222e" stroke-dasharray="6 4" stroke-width="1.5"/>`);
  out.push(`<text x="${left + plotW / 2}" y="${height - 18}" text-anchor="middle">concurrent connections</text>`);
  series.forEach((s, i) => {
    const ly = top + 10 + i * 20;
    out.push(`<rect x="${left + plotW + 8}" y="${ly - 10}" width="12" height="12" fill="${COLOURS[i % COLOURS.length]}"/>`);
    out.push(`<text x="${left + plotW + 26}" y="${ly}">${escape(s.name)}</text>`);
  });
  const ly = top + 20 + series.length * 20;
  out.push(`<line x1="${left + plotW + 8}" x2="${left + plotW + 20}" y1="${ly - 4}" y2="${ly - 4}" stroke="#000" stroke-width="1.5"/>`);
  out.push(`<text x="${left + plotW + 26}" y="${ly}">hash-bound limit (1.0)</text>`);
  out.push(`<line x1="${left + plotW + 8}" x2="${left + plotW + 20}" y1="${ly + 16}" y2="${ly + 16}" stroke="#cf222e" stroke-dasharray="4 2" stroke-width="1.5"/>`);
  out.push(`<text x="${left + plotW + 26}" y="${ly + 20}" fill="#cf222e">target at 2×cores (${target})</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
