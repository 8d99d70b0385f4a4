import type { ServerConfig } from '../config.ts';
import type { BlobStore } from './blob-store.ts';
import { LocalBlobStore } from './local-blob-store.ts';
import { parseBlobStoreUrl, S3BlobStore } from './s3-blob-store.ts';

/** Local disk by default; an S3-compatible bucket when COFFER_BLOB_STORE is set (credentials from the usual AWS variables). */
export function openBlobStore(config: ServerConfig): BlobStore {
  if (config.blobStoreUrl === undefined) return new LocalBlobStore(config.blobDir);
  const { bucket, prefix } = parseBlobStoreUrl(config.blobStoreUrl);
  return new S3BlobStore({
    bucket,
    prefix,
    endpoint: config.s3Endpoint,
    region: config.s3Region,
    credentials: config.s3Credentials,
    spoolDir: `${config.dataDir}/spool`,
  });
}
