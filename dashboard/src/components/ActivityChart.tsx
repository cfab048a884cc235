import type { AccessLogEntry } from '../api';

const CLASSES = [
  { key: 'ok', label: '2xx', test: (s: number) => s < 300 },
  { key: 'client', label: '4xx', test: (s: number) => s >= 400 && s < 500 },
  { key: 'server', label: '5xx', test: (s: number) => s >= 500 },
] as const;

/** Requests per day, stacked by status class: an SVG with a text table behind it for screen readers. */
export function ActivityChart({ entries }: { entries: AccessLogEntry[] }) {
  const days = new Map<string, Record<string, number>>();
  for (const e of entries) {
    const day = e.at.slice(0, 10);
    const counts = days.get(day) ?? { ok: 0, client: 0, server: 0 };
    const cls = CLASSES.find((c) => c.test(e.status));
    if (cls) counts[cls.key] = (counts[cls.key] ?? 0) + 1;
    days.set(day, counts);
  }
  const rows = [...days.entries()].sort(([a], [b]) => a.localeCompare(b)).slice(-14);
  if (rows.length === 0) return null;
  const max = Math.max(...rows.map(([, c]) => (c.ok ?? 0) + (c.client ?? 0) + (c.server ?? 0)));
  const width = 28;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${rows.length * width} 100`} role="img" aria-label="Requests per day by status">
        {rows.map(([day, counts], i) => {
          let y = 100;
          return CLASSES.map((c) => {
            const h = ((counts[c.key] ?? 0) / max) * 90;
            y -= h;
            return h > 0 ? <rect key={`${day}-${c.key}`} className={`bar-${c.key}`} x={i * width + 4} y={y} width={width - 8} height={h}><title>{`${day}: ${counts[c.key]} ${c.label}`}</title></rect> : null;
          });
        })}
      </svg>
      <figcaption>
        Requests per day: <span className="key-ok">2xx</span> <span className="key-client">4xx</span> <span className="key-server">5xx</span>
      </figcaption>
    </figure>
  );
}
