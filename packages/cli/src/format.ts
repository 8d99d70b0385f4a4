/** Formatting for people: sizes, durations, times, modes, tables. JSON output never goes through here. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 ? 0 : value < 10 ? 2 : value < 100 ? 1 : 0;
  return `${value.toFixed(digits)} ${UNITS[unit] ?? 'B'}`;
}

/** `m:ss` or `h:mm:ss`. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const ss = String(seconds).padStart(2, '0');
  return hours > 0 ? `${String(hours)}:${String(minutes).padStart(2, '0')}:${ss}` : `${String(minutes)}:${ss}`;
}

/** Local time as `YYYY-MM-DD HH:MM:SS`, the way people read a snapshot list. */
export function formatTime(time: string | number | Date): string {
  const d = new Date(time);
  if (Number.isNaN(d.getTime())) return String(time);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${String(d.getFullYear())}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A tree node's mtime (nanoseconds since the epoch, decimal) as ISO 8601 with nanoseconds kept. */
export function nsToIso(ns: string): string {
  const value = BigInt(ns);
  const ms = value / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString();
  const fraction = String(value % 1_000_000_000n).padStart(9, '0');
  return `${iso.slice(0, 19)}.${fraction}Z`;
}

/** Milliseconds since the epoch (0: never) as ISO 8601, or null. */
export function msToIso(ms: number): string | null {
  return ms === 0 ? null : new Date(ms).toISOString();
}

const TYPE_CHAR: Record<string, string> = { dir: 'd', symlink: 'l', file: '-' };

/** `drwxr-xr-x`, as ls -l prints it. */
export function formatMode(type: string, mode: number): string {
  const bits = ['r', 'w', 'x'];
  let out = TYPE_CHAR[type] ?? '?';
  for (let i = 8; i >= 0; i--) out += (mode >> i) & 1 ? (bits[(8 - i) % 3] ?? '?') : '-';
  if (mode & 0o4000) out = `${out.slice(0, 3)}${out[3] === 'x' ? 's' : 'S'}${out.slice(4)}`;
  if (mode & 0o2000) out = `${out.slice(0, 6)}${out[6] === 'x' ? 's' : 'S'}${out.slice(7)}`;
  if (mode & 0o1000) out = `${out.slice(0, 9)}${out[9] === 'x' ? 't' : 'T'}`;
  return out;
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${String(count)} ${count === 1 ? one : many}`;
}

/** Left-aligned columns (right-aligned where `right` says), two spaces apart, with a rule under the header. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], right: readonly number[] = []): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (right.includes(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const head = line(header);
  return [head, '-'.repeat(head.length), ...rows.map(line)];
}
