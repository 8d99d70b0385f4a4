import { describe, expect, test } from 'vitest';
import { parseMultistatus } from '../src/storage/webdav-xml.ts';

describe('parseMultistatus', () => {
  test('rclone / golang.org/x/net/webdav style: D: prefix, path-only hrefs', () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?><D:multistatus xmlns:D="DAV:"><D:response><D:href>/repo/</D:href><D:propstat><D:prop><D:resourcetype><D:collection xmlns:D="DAV:"/></D:resourcetype></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>' +
      '<D:response><D:href>/repo/data%2Dx</D:href><D:propstat><D:prop><D:resourcetype></D:resourcetype><D:getcontentlength>42</D:getcontentlength><D:getlastmodified>Sat, 21 Nov 2026 23:34:22 GMT</D:getlastmodified></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>';
    expect(parseMultistatus(xml)).toEqual([
      { href: '/repo/', collection: true, size: undefined, lastModified: undefined },
      { href: '/repo/data%2Dx', collection: false, size: 42, lastModified: Date.parse('Sat, 21 Nov 2026 23:34:22 GMT') },
    ]);
  });

  test('Apache / Nextcloud style: lowercase or other prefixes, absolute hrefs, whitespace, a 404 propstat, entities', () => {
    const xml = `<?xml version="1.0" encoding="utf-8"?>
<d:multistatus xmlns:d="DAV:" xmlns:lp1="DAV:">
  <d:response>
    <d:href>https://dav.example.com/remote.php/dav/files/me/repo/a%20b?x=1&amp;y=2</d:href>
    <d:propstat>
      <d:prop>
        <lp1:resourcetype/>
        <lp1:getcontentlength>
          7
        </lp1:getcontentlength>
      </d:prop>
      <d:status>HTTP/1.1 200 OK</d:status>
    </d:propstat>
    <d:propstat>
      <d:prop><d:getetag /></d:prop>
      <d:status>HTTP/1.1 404 Not Found</d:status>
    </d:propstat>
  </d:response>
  <d:response>
    <d:href><![CDATA[/remote.php/dav/files/me/repo/sub/]]></d:href>
    <d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype><d:getcontentlength /></d:prop></d:propstat>
  </d:response>
</d:multistatus>`;
    expect(parseMultistatus(xml)).toEqual([
      { href: 'https://dav.example.com/remote.php/dav/files/me/repo/a%20b?x=1&y=2', collection: false, size: 7, lastModified: undefined },
      { href: '/remote.php/dav/files/me/repo/sub/', collection: true, size: undefined, lastModified: undefined },
    ]);
  });

  test('default namespace without a prefix; responses without an href are dropped', () => {
    const xml =
      '<multistatus xmlns="DAV:"><response><href>/x/y</href><propstat><prop><getcontentlength>0</getcontentlength></prop></propstat></response><response><propstat/></response><responsedescription>ok</responsedescription></multistatus>';
    expect(parseMultistatus(xml)).toEqual([{ href: '/x/y', collection: false, size: 0, lastModified: undefined }]);
  });

  test('garbage gives no entries rather than an exception', () => {
    expect(parseMultistatus('<html><body>502 Bad Gateway</body></html>')).toEqual([]);
    expect(parseMultistatus('')).toEqual([]);
  });
});
