/**
 * `npm start`. The Coffer server arrives with its own issue; until then this
 * says plainly what exists and how to exercise it, rather than pretending.
 */
console.log(`Coffer — end-to-end encrypted backups unlocked with a passkey, a password vault or a recovery key.

What exists today:
  packages/core     the cryptographic core: key hierarchy, keyslots, recovery keys,
                    blob sealing and the byte formats (docs/format.md)
  packages/engine   the backup engine and its storage drivers (local disk, S3, WebDAV)
  packages/cli      the coffer command (docs/cli.md)

The server (which 'npm start' will run), the client SDK and the web app are not built yet.

Try it:
  npx coffer --help        back up and restore from the command line
  npm test                 the whole suite, in Node and in headless Chromium
  npm run lint             ESLint (type-checked rules) and the TypeScript build
  npm run vectors:check    re-generate the test vectors and compare with the committed ones
`);
