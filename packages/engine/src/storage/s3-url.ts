/**
 * Repository URLs for S3-compatible storage, `s3:http(s)://host[:port]/bucket[/prefix]`
 * (used by the CLI). Credentials never go in the URL: they come from the AWS
 * SDK's default chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, …).
 */
import { fail } from '@coffer/core';
import { isValidName } from './names.ts';

export interface S3Location {
  /** Scheme, host and port: `https://s3.example.com:9000`. */
  readonly endpoint: string;
  readonly bucket: string;
  /** Key prefix without leading or trailing `/`; '' for the bucket's root. */
  readonly prefix: string;
  /** The bucket is in the path of the URL, so requests keep it there. */
  readonly forcePathStyle: true;
}

/** S3's bucket naming rules, as far as they concern the shape of the name. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function parseS3Url(text: string): S3Location {
  // The text is never echoed in errors: a user may have pasted a secret into it.
  if (!text.startsWith('s3:')) fail('E_INVALID_ARGUMENT', 'an S3 repository URL starts with s3:');
  // URL parsing would fold `a/../b` into `b`; refuse dot segments instead of guessing.
  if (/\/\.{1,2}(?:\/|$)/.test(text.slice(3).replace(/^[a-z]+:\/\//, ''))) {
    fail('E_INVALID_ARGUMENT', 'an S3 repository URL has no "." or ".." path segments');
  }
  let url: URL;
  try {
    url = new URL(text.slice(3));
  } catch (cause) {
    return fail('E_INVALID_ARGUMENT', 'an S3 repository URL looks like s3:https://host[:port]/bucket[/prefix]', cause);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    fail('E_INVALID_ARGUMENT', 'an S3 repository URL needs an http: or https: endpoint after s3:');
  }
  if (url.username !== '' || url.password !== '') {
    fail('E_INVALID_ARGUMENT', 'credentials do not belong in an S3 repository URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  }
  if (url.search !== '' || url.hash !== '') fail('E_INVALID_ARGUMENT', 'an S3 repository URL has no query or fragment');
  const [bucket = '', ...rest] = url.pathname.replace(/^\/+/, '').replace(/\/+$/, '').split('/');
  if (!BUCKET.test(bucket) || bucket.includes('..')) {
    fail('E_INVALID_ARGUMENT', 'an S3 bucket name is 3–63 characters of [a-z0-9.-], starting and ending with a letter or digit');
  }
  const prefix = rest.join('/');
  if (prefix !== '' && !isValidName(prefix)) {
    fail('E_INVALID_ARGUMENT', 'an S3 key prefix is made of [a-z0-9._-] segments separated by /');
  }
  return { endpoint: url.origin, bucket, prefix, forcePathStyle: true };
}
