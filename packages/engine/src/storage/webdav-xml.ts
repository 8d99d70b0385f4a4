/**
 * Reads a WebDAV PROPFIND reply (RFC 4918 §14.16 multistatus). A full XML
 * parser is not needed for the four properties the driver uses, but servers
 * differ in what they send: any namespace prefix (`D:`, `d:`, `lp1:`) or none
 * with a default namespace, attributes, whitespace, self-closing elements,
 * entities and CDATA in hrefs, absolute or path-only hrefs.
 */

export interface DavEntry {
  /** The href as sent (still URL-encoded). */
  readonly href: string;
  readonly collection: boolean;
  readonly size: number | undefined;
  /** ms since the epoch, from getlastmodified. */
  readonly lastModified: number | undefined;
}

/** `local` in any namespace prefix, or none. */
function tag(local: string): string {
  return `(?:[A-Za-z_][\\w.-]*:)?${local}`;
}

function element(local: string): RegExp {
  // (?<!/) skips self-closing forms such as `<D:getcontentlength />`, which hold nothing.
  return new RegExp(`<${tag(local)}(?:\\s[^>]*)?(?<!/)>([\\s\\S]*?)</${tag(local)}\\s*>`, 'g');
}

function text(raw: string): string {
  const cdata = /^\s*<!\[CDATA\[([\s\S]*?)\]\]>\s*$/.exec(raw);
  if (cdata !== null) return cdata[1] ?? '';
  return raw
    .trim()
    .replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, entity: string) => {
      if (entity.startsWith('#x')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
      if (entity.startsWith('#')) return String.fromCodePoint(parseInt(entity.slice(1), 10));
      return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[entity] ?? '';
    });
}

function first(block: string, local: string): string | undefined {
  const match = element(local).exec(block);
  return match === null ? undefined : text(match[1] ?? '');
}

export function parseMultistatus(xml: string): DavEntry[] {
  const entries: DavEntry[] = [];
  for (const match of xml.matchAll(element('response'))) {
    const block = match[1] ?? '';
    const href = first(block, 'href');
    if (href === undefined || href === '') continue;
    const length = first(block, 'getcontentlength');
    const modified = first(block, 'getlastmodified');
    const parsedDate = modified === undefined ? Number.NaN : Date.parse(modified);
    entries.push({
      href,
      collection: new RegExp(`<${tag('collection')}[\\s/>]`).test(block),
      size: length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined,
      lastModified: Number.isNaN(parsedDate) ? undefined : parsedDate,
    });
  }
  return entries;
}
