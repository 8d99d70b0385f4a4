import type { Migration } from '../migrate.ts';

/**
 * Step-up requests: a signed-in device without a passkey (the CLI, say) asks
 * for a fresh proof, and the user gives it with a passkey on a confirmation
 * page in a browser (step-up/). The id is the page's address; the code is
 * shown on both sides so the user can tell their own request from one an
 * attacker holding a stolen session would send them.
 */
export const stepUpRequests: Migration = {
  id: '006-step-up-requests',
  up: () => [
    `CREATE TABLE step_up_requests (
      id TEXT PRIMARY KEY,
      account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
      session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
      code TEXT NOT NULL,
      action TEXT NOT NULL,
      device TEXT NOT NULL,
      client_address TEXT NOT NULL,
      status TEXT NOT NULL,
      credential_id TEXT,
      created_at BIGINT NOT NULL,
      expires_at BIGINT NOT NULL,
      decided_at BIGINT
    )`,
    'CREATE INDEX step_up_requests_expiry ON step_up_requests (expires_at)',
    'CREATE INDEX step_up_requests_session ON step_up_requests (session_id)',
  ],
};
