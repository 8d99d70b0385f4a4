/**
 * Repository locations → Storage. The one place where the CLI dispatches on the
 * scheme of -r/--repo; the URL parsers are the engine's (s3-url.ts, webdav-url.ts):
 *
 *   /path, ./path, local:/path                  local filesystem
 *   s3:http(s)://host[:port]/bucket[/prefix]    S3-compatible; credentials from the AWS SDK's
 *                                               default chain (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 *                                               AWS_PROFILE…), region from AWS_REGION (default us-east-1)
 *   webdav:http(s)://[user[:pw]@]host[:port]/path   WebDAV; or COFFER_WEBDAV_USER / COFFER_WEBDAV_PASSWORD
 *   coffer:http(s)://host[:port]                 a Coffer server's append-only store; the session from `coffer login`
 */
import { resolve } from 'node:path';
import { fail } from '@coffer/core';
import { type Storage, parseS3Url, parseWebDavUrl } from '@coffer/engine';
import { LocalStorage } from '@coffer/engine/node';
import type { Env } from './io.ts';
import { CLI_DEVICE, requireLogin, serverOrigin } from './server-login.ts';

export type RepositoryScheme = 'local' | 's3' | 'webdav' | 'coffer';

export function schemeOf(spec: string): RepositoryScheme {
  if (spec.startsWith('s3:')) return 's3';
  if (spec.startsWith('webdav:')) return 'webdav';
  if (spec.startsWith('coffer:')) return 'coffer';
  if (spec.startsWith('local:')) return 'local';
  const other = /^([a-z][a-z0-9+.-]*):/i.exec(spec);
  // One letter before ':' is a Windows drive, not a scheme.
  if (other && (other[1] ?? '').length > 1) {
    fail('E_INVALID_ARGUMENT', `unsupported repository scheme "${other[1] ?? ''}:" (use a local path, s3:…, webdav:… or coffer:…; write ./PATH for a local path that contains a colon)`);
  }
  return 'local';
}

/** Async because the S3 and WebDAV drivers load only when used: the AWS SDK alone costs ~180 ms of start-up. */
/**
 * `stepUp`, for coffer: repositories: how to prove an unlock method to the
 * server when it asks before a delete (the CLI signs with the recovery key).
 */
export async function openStorage(spec: string, env: Env, stepUp?: () => Promise<void>): Promise<Storage> {
  switch (schemeOf(spec)) {
    case 'local': {
      const path = spec.startsWith('local:') ? spec.slice('local:'.length) : spec;
      if (path === '') fail('E_INVALID_ARGUMENT', 'the repository path is empty');
      return new LocalStorage(resolve(path));
    }
    case 's3': {
      const location = parseS3Url(spec);
      const { S3Storage } = await import('@coffer/engine/s3');
      const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
      return new S3Storage({
        bucket: location.bucket,
        endpoint: location.endpoint,
        forcePathStyle: location.forcePathStyle,
        ...(location.prefix === '' ? {} : { prefix: location.prefix }),
        ...(region === undefined || region === '' ? {} : { region }),
      });
    }
    case 'webdav': {
      const location = parseWebDavUrl(spec, { COFFER_WEBDAV_USER: env.COFFER_WEBDAV_USER, COFFER_WEBDAV_PASSWORD: env.COFFER_WEBDAV_PASSWORD });
      const { WebDavStorage } = await import('@coffer/engine/webdav');
      return new WebDavStorage(location);
    }
    case 'coffer': {
      const origin = serverOrigin(spec);
      const login = await requireLogin(env, origin);
      const { CofferStorage } = await import('@coffer/engine/coffer');
      return new CofferStorage({ url: origin, token: login.token, device: CLI_DEVICE, ...(stepUp === undefined ? {} : { onStepUpRequired: stepUp }) });
    }
  }
}
