/**
 * Repository URLs for WebDAV, `webdav:http(s)://[user[:password]@]host[:port]/path`
 * (used by the CLI). Basic-auth credentials may sit in the URL or come from
 * COFFER_WEBDAV_USER / COFFER_WEBDAV_PASSWORD (the caller passes the
 * environment in: this module runs in browsers too). What comes back as `url`
 * has no credentials: it is what `location` and errors may show.
 */
import { fail } from '@coffer/core';

export interface WebDavLocation {
  /** The base collection, with a trailing `/` and without credentials. */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
}

export interface WebDavEnvironment {
  readonly COFFER_WEBDAV_USER?: string | undefined;
  readonly COFFER_WEBDAV_PASSWORD?: string | undefined;
}

export function parseWebDavUrl(text: string, env: WebDavEnvironment = {}): WebDavLocation {
  // The text is never echoed in errors: it may hold a password.
  if (!text.startsWith('webdav:')) fail('E_INVALID_ARGUMENT', 'a WebDAV repository URL starts with webdav:');
  let url: URL;
  try {
    url = new URL(text.slice('webdav:'.length));
  } catch (cause) {
    return fail('E_INVALID_ARGUMENT', 'a WebDAV repository URL looks like webdav:https://host[:port]/path', cause);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    fail('E_INVALID_ARGUMENT', 'a WebDAV repository URL needs an http: or https: address after webdav:');
  }
  if (url.search !== '' || url.hash !== '') fail('E_INVALID_ARGUMENT', 'a WebDAV repository URL has no query or fragment');
  const username = url.username === '' ? env.COFFER_WEBDAV_USER : decodeURIComponent(url.username);
  const password = url.password === '' ? env.COFFER_WEBDAV_PASSWORD : decodeURIComponent(url.password);
  url.username = '';
  url.password = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return {
    url: url.href,
    ...(username === undefined || username === '' ? {} : { username }),
    ...(password === undefined ? {} : { password }),
  };
}
