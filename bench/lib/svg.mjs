// Small hand-written SVG charts for the benchmarks (no dependency): stacked bars over time with
// event markers (bench/timeline.mjs) and line charts (bench/soak.mjs). Every function returns SVG
// text; `svgDocument` wraps parts into a standalone file.

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

export const COLOURS = {
  blue: '#2563eb',
  green: '#16a34a',
  failed: '#dc2626',
  marker: '#111827',
  grid: '#e5e7eb',
  axis: '#6b7280',
  text: '#111827',
  muted: '#4b5563',
  span: '#f3f4f6',
};

/** Escapes text for SVG content and attribute values. */
export function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const r1 = (x) => Math.round(x * 10) / 10;

/** A round axis maximum >= v (1, 2, 2.5, 5 times a power of ten) and its tick step. */
export function niceScale(v, ticks = 5) {
  if (!(v > 0)) return { max: 1, step: 1 };
  const raw = v / ticks;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * pow).find((s) => s >= raw);
  return { max: Math.ceil(v / step) * step, step };
}

const fmt = (n) => (Math.abs(n) >= 10_000 ? `${r1(n / 1000)}k` : Number.isInteger(n) ? String(n) : String(r1(n)));

export function svgDocument({ width, height, title }, parts) {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

/** Legend entries in a row starting at (x, y): [{ label, colour, kind: 'box'|'line' }]. */
function legend(x, y, entries) {
  const out = [];
  let cx = x;
  for (const e of entries) {
    if (e.kind === 'line')
      out.push(
        `<line x1="${cx}" y1="${y - 4}" x2="${cx + 14}" y2="${y - 4}" ` +
          `stroke="${e.colour}" stroke-width="2"${e.dash ? ` stroke-dasharray="${e.dash}"` : ''}/>`,
      );
    else out.push(`<rect x="${cx}" y="${y - 10}" width="12" height="12" fill="${e.colour}"/>`);
    out.push(`<text x="${cx + 18}" y="${y}" fill="${COLOURS.text}">${esc(e.label)}</text>`);
    cx += 18 + e.label.length * 6.6 + 18;
  }
  return out.join('\n');
}

/**
 * Stacked bars over time.
 * bins: [{ [series.key]: count }] of binMs each, starting at 0; series: [{ key, label, colour }]
 * (stacked bottom-up in this order); markers: [{ atMs, label }]; spans: [{ fromMs, toMs, label }]
 * (shaded behind the bars). Returns the whole document.
 */
export function stackedBarsSvg({
  title,
  subtitle,
  binMs,
  bins,
  series,
  markers = [],
  spans = [],
  yLabel,
  width = 960,
  height = 420,
}) {
  const m = { left: 64, right: 24, top: spans.length ? 100 : 78, bottom: 52 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const n = Math.max(bins.length, 1);
  const totalMs = n * binMs;
  const x = (ms) => m.left + (ms / totalMs) * pw;
  const stackMax = Math.max(1, ...bins.map((b) => series.reduce((s, se) => s + (b[se.key] ?? 0), 0)));
  const { max, step } = niceScale(stackMax);
  const y = (v) => m.top + ph - (v / max) * ph;
  const parts = [];

  parts.push(`<text x="${m.left}" y="24" font-size="16" font-weight="600" fill="${COLOURS.text}">${esc(title)}</text>`);
  if (subtitle) parts.push(`<text x="${m.left}" y="42" fill="${COLOURS.muted}">${esc(subtitle)}</text>`);
  parts.push(
    legend(
      m.left,
      62,
      series.map((s) => ({ label: s.label, colour: s.colour })),
    ),
  );

  // Spans (commands running): a labelled band above the plot, shaded behind the bars.
  for (const s of spans) {
    const x0 = x(Math.max(0, s.fromMs));
    const x1 = x(Math.min(totalMs, s.toMs));
    const w = r1(Math.max(0, x1 - x0));
    parts.push(`<rect x="${r1(x0)}" y="${m.top}" width="${w}" height="${ph}" fill="${COLOURS.span}"/>`);
    parts.push(`<rect x="${r1(x0)}" y="${m.top - 18}" width="${w}" height="16" fill="${COLOURS.grid}"/>`);
    if (s.label)
      parts.push(
        `<text x="${r1(x0 + 4)}" y="${m.top - 6}" fill="${COLOURS.text}" font-size="11">${esc(s.label)}</text>`,
      );
  }
  // Grid and y axis.
  for (let v = 0; v <= max + 1e-9; v += step) {
    parts.push(`<line x1="${m.left}" y1="${r1(y(v))}" x2="${m.left + pw}" y2="${r1(y(v))}" stroke="${COLOURS.grid}"/>`);
    parts.push(`<text x="${m.left - 6}" y="${r1(y(v) + 4)}" text-anchor="end" fill="${COLOURS.axis}">${fmt(v)}</text>`);
  }
  if (yLabel)
    parts.push(
      `<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" ` +
        `text-anchor="middle" fill="${COLOURS.muted}">${esc(yLabel)}</text>`,
    );
  // Bars.
  const bw = pw / n;
  const gap = bw > 4 ? 0.5 : 0;
  bins.forEach((b, i) => {
    let acc = 0;
    for (const s of series) {
      const v = b[s.key] ?? 0;
      if (v <= 0) continue;
      const top = y(acc + v);
      const h = y(acc) - top;
      parts.push(
        `<rect x="${r1(m.left + i * bw + gap)}" y="${r1(top)}" width="${r1(Math.max(0.5, bw - 2 * gap))}" ` +
          `height="${r1(Math.max(h, s.minHeight ?? 0))}" fill="${s.colour}"/>`,
      );
      acc += v;
    }
  });
  // x axis: a tick every second (or every 5 s on long charts).
  const tickMs = totalMs > 30_000 ? 5_000 : 1_000;
  parts.push(
    `<line x1="${m.left}" y1="${m.top + ph}" x2="${m.left + pw}" y2="${m.top + ph}" stroke="${COLOURS.axis}"/>`,
  );
  for (let t = 0; t <= totalMs; t += tickMs) {
    parts.push(
      `<line x1="${r1(x(t))}" y1="${m.top + ph}" x2="${r1(x(t))}" y2="${m.top + ph + 4}" stroke="${COLOURS.axis}"/>`,
    );
    parts.push(
      `<text x="${r1(x(t))}" y="${m.top + ph + 18}" text-anchor="middle" fill="${COLOURS.axis}">${t / 1000} s</text>`,
    );
  }
  parts.push(
    `<text x="${m.left + pw / 2}" y="${height - 10}" text-anchor="middle" fill="${COLOURS.muted}">` +
      `time since the load started (bars of ${binMs} ms)</text>`,
  );
  // Markers: dashed lines, labels in two rows above the plot so neighbours do not overlap.
  markers.forEach((mk, i) => {
    const mx = r1(x(mk.atMs));
    const ly = m.top + 14 + (i % 2) * 14;
    parts.push(
      `<line x1="${mx}" y1="${m.top}" x2="${mx}" y2="${m.top + ph}" ` +
        `stroke="${mk.colour ?? COLOURS.marker}" stroke-width="1.2" stroke-dasharray="4 3"/>`,
    );
    const anchor = mx > m.left + pw - 160 ? 'end' : 'start';
    parts.push(
      `<text x="${anchor === 'end' ? mx - 4 : mx + 4}" y="${ly}" text-anchor="${anchor}" ` +
        `fill="${mk.colour ?? COLOURS.marker}" font-size="11" font-weight="600" ` +
        `stroke="#ffffff" stroke-width="3" paint-order="stroke">${esc(mk.label)}</text>`,
    );
  });
  return svgDocument({ width, height, title }, parts);
}

/**
 * One line-chart panel at (ox, oy): series [{ label, colour, points: [[x, y]], dash? }] sharing one
 * y axis. Returns SVG parts (no document), so several panels can share a file.
 */
export function linePanel({ ox, oy, width, height, title, series, xLabel, yLabel, yMin = 0 }) {
  const m = { left: 64, right: 16, top: 40, bottom: 40 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xMax = Math.max(1, ...xs);
  const { max, step } = niceScale(Math.max(...ys, yMin + 1) - yMin);
  const yTop = yMin + max;
  const X = (v) => ox + m.left + (v / xMax) * pw;
  const Y = (v) => oy + m.top + ph - ((v - yMin) / (yTop - yMin)) * ph;
  const parts = [
    `<text x="${ox + m.left}" y="${oy + 18}" font-size="13" font-weight="600" ` +
      `fill="${COLOURS.text}">${esc(title)}</text>`,
  ];
  parts.push(
    legend(
      ox + m.left,
      oy + 34,
      series.map((s) => ({ label: s.label, colour: s.colour, kind: 'line', dash: s.dash })),
    ),
  );
  for (let v = yMin; v <= yTop + 1e-9; v += step) {
    parts.push(
      `<line x1="${ox + m.left}" y1="${r1(Y(v))}" x2="${ox + m.left + pw}" y2="${r1(Y(v))}" stroke="${COLOURS.grid}"/>`,
    );
    parts.push(
      `<text x="${ox + m.left - 6}" y="${r1(Y(v) + 4)}" text-anchor="end" fill="${COLOURS.axis}">${fmt(v)}</text>`,
    );
  }
  const { step: xStep } = niceScale(xMax, 5);
  for (let v = 0; v <= xMax + 1e-9; v += xStep) {
    parts.push(
      `<text x="${r1(X(v))}" y="${oy + m.top + ph + 16}" text-anchor="middle" fill="${COLOURS.axis}">${fmt(v)}</text>`,
    );
  }
  parts.push(
    `<line x1="${ox + m.left}" y1="${oy + m.top + ph}" ` +
      `x2="${ox + m.left + pw}" y2="${oy + m.top + ph}" stroke="${COLOURS.axis}"/>`,
  );
  if (xLabel)
    parts.push(
      `<text x="${ox + m.left + pw / 2}" y="${oy + height - 6}" text-anchor="middle" ` +
        `fill="${COLOURS.muted}">${esc(xLabel)}</text>`,
    );
  if (yLabel)
    parts.push(
      `<text transform="translate(${ox + 14} ${oy + m.top + ph / 2}) rotate(-90)" ` +
        `text-anchor="middle" fill="${COLOURS.muted}">${esc(yLabel)}</text>`,
    );
  for (const s of series) {
    if (s.points.length === 0) continue;
    const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${r1(X(p[0]))} ${r1(Y(p[1]))}`).join(' ');
    parts.push(
      `<path d="${d}" fill="none" stroke="${s.colour}" ` +
        `stroke-width="1.8"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
    );
  }
  return parts;
}
