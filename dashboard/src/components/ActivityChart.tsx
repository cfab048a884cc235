import type { AccessLogEntry } from '../api';

const CLASSES = [
  { key: 'ok', label: '2xx', test: (s: number) => s < 300 },
  { key: 'client', label: '4xx', test: (s: number) => s >= 400 && s < 500 },
  { key: 'server', label: '5xx', test: (s: number) => s >= 500 },
] as const;

type Counts = Record<(typeof CLASSES)[number]['key'], number>;

const BAR = 40;
const LEFT = 34;
const TOP = 14;
const PLOT = 90;
const BOTTOM = 18;
const shortDay = (day: string) => new Date(`${day}T00:00:00Z`).toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });

/**
 * Requests per day, stacked by status class, with a count axis, each day's date and total, and
 * the same figures as a table for screen readers.
 */
export function ActivityChart({ entries }: { entries: AccessLogEntry[] }) {
  const days = new Map<string, Counts>();
  for (const e of entries) {
    const day = e.at.slice(0, 10);
    const counts = days.get(day) ?? { ok: 0, client: 0, server: 0 };
    const cls = CLASSES.find((c) => c.test(e.status));
    if (cls) counts[cls.key] += 1;
    days.set(day, counts);
  }
  const rows = [...days.entries()].sort(([a], [b]) => a.localeCompare(b)).slice(-14);
  if (rows.length === 0) return null;
  const total = (c: Counts) => c.ok + c.client + c.server;
  const max = Math.max(1, ...rows.map(([, c]) => total(c)));
  const y = (count: number) => TOP + PLOT - (count / max) * PLOT;
  const width = LEFT + rows.length * BAR + 4;
  const ticks = max >= 2 ? [0, Math.round(max / 2), max] : [0, max];
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${TOP + PLOT + BOTTOM}`} style={{ maxWidth: `${width * 1.6}px` }} aria-hidden="true">
        {ticks.map((tick) => (
          <g key={tick}>
            <line x1={LEFT - 3} x2={width} y1={y(tick)} y2={y(tick)} className="grid" />
            <text x={LEFT - 6} y={y(tick) + 3} textAnchor="end" className="axis">{tick}</text>
          </g>
        ))}
        <line x1={LEFT} x2={LEFT} y1={TOP} y2={TOP + PLOT} className="axis-line" />
        {rows.map(([day, counts], i) => {
          let top = TOP + PLOT;
          const x = LEFT + i * BAR + 6;
          return (
            <g key={day}>
              {CLASSES.map((c) => {
                const h = (counts[c.key] / max) * PLOT;
                top -= h;
                return h > 0 ? <rect key={c.key} className={`bar-${c.key}`} x={x} y={top} width={BAR - 12} height={h} /> : null;
              })}
              <text x={x + (BAR - 12) / 2} y={y(total(counts)) - 3} textAnchor="middle" className="count">{total(counts)}</text>
              <text x={x + (BAR - 12) / 2} y={TOP + PLOT + 13} textAnchor="middle" className="axis">{shortDay(day)}</text>
            </g>
          );
        })}
      </svg>
      <figcaption>
        Requests per day: <span className="key-ok">2xx</span> <span className="key-client">4xx</span> <span className="key-server">5xx</span>
      </figcaption>
      <table className="visually-hidden">
        <caption>Requests per day by status</caption>
        <thead><tr><th scope="col">Day</th>{CLASSES.map((c) => <th key={c.key} scope="col">{c.label}</th>)}<th scope="col">All</th></tr></thead>
        <tbody>
          {rows.map(([day, counts]) => (
            <tr key={day}><th scope="row">{shortDay(day)}</th>{CLASSES.map((c) => <td key={c.key}>{counts[c.key]}</td>)}<td>{total(counts)}</td></tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
