/**
 * Include patterns for restore, in restic's spirit: `*` and `?` stay within one
 * path segment, `**` crosses segments. A pattern that starts with `/` is
 * anchored at the snapshot's root; any other pattern may match at any depth
 * (`*.jpg` selects every JPEG, `chat/media` every such directory).
 */
export function compileIncludes(patterns: readonly string[]): (path: string) => boolean {
  if (patterns.length === 0) return () => true;
  const regexes = patterns.map(globToRegExp);
  return (path) => regexes.some((re) => re.test(path));
}

function globToRegExp(pattern: string): RegExp {
  const anchored = pattern.startsWith('/');
  const body = pattern.replace(/^\/+|\/+$/g, '');
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body.charAt(i);
    if (c === '*' && body.charAt(i + 1) === '*') {
      out += '.*';
      i++;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`${anchored ? '^/' : '(^|/)'}${out}$`);
}
