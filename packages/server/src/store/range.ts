/**
 * One `Range: bytes=...` header (RFC 9110 §14.1.2) against an object of
 * `size` bytes: undefined for "the whole object" (no header, or a form we do
 * not serve, such as several ranges — answering 200 with everything is allowed),
 * 'unsatisfiable' for a start past the end, else the clipped range.
 */
export function parseRange(header: string | undefined, size: number): { offset: number; length: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    // A suffix: the last N bytes.
    const n = Number(last);
    if (n === 0) return 'unsatisfiable';
    const length = Math.min(n, size);
    return { offset: size - length, length };
  }
  const offset = Number(first);
  if (!Number.isSafeInteger(offset)) return undefined;
  if (offset >= size) return 'unsatisfiable';
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (!Number.isSafeInteger(end) || end < offset) return undefined;
  return { offset, length: end - offset + 1 };
}
