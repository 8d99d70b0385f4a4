/**
 * Runs s3rver in a child process for storage-s3.test.ts. A process of its own
 * because s3rver 3.7.1 encrypts ListObjectsV2 continuation tokens with DES,
 * which Node 24's OpenSSL 3 only offers with --openssl-legacy-provider: a flag
 * for s3rver's process, not for the tests'. Prints `{"port":N}` once
 * listening; exits when its stdin closes, so it never outlives the tests.
 */
import S3rver from 's3rver';

const directory = process.argv[2];
if (directory === undefined) throw new Error('usage: s3rver-process.ts DIRECTORY');
const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory });
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void server.close().then(() => process.exit(0));
});
