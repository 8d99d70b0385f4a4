import type { ServerConfig } from '../config.ts';
import type { BlobStore } from './blob-store.ts';
import { LocalBlobStore } from './local-blob-store.ts';

/**
 * Local disk by default; an S3-compatible bucket when COFFER_BLOB_STORE is set
 * (credentials from the usual AWS variables). The AWS SDK is loaded only then:
 * it is large, and a default server should not carry it in memory.
 */
export async function openBlobStore(config: ServerConfig): Promise<BlobStore> {
  if (config.blobStoreUrl === undefined) return new LocalBlobStore(config.blobDir);
  const { parseBlobStoreUrl, S3BlobStore } = await import('./s3-blob-store.ts');
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
