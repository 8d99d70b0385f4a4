import type { CofferApi } from './http.ts';

export interface SessionInfo {
  accountId: string;
  username: string | null;
  displayName: string;
  sessionId: string;
  method: 'passkey' | 'password' | 'recovery-key';
  stepUpAt: number | null;
}

export interface SecurityEvent {
  id: number;
  type: string;
  detail: Record<string, string | number | boolean>;
  device: string;
  clientAddress: string;
  flags: ('new-device' | 'failure-burst')[];
  createdAt: number;
}

export interface LiveSession {
  id: string;
  kind: 'cookie' | 'bearer';
  method: string;
  device: string;
  clientAddress: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  stepUpAt: number | null;
  current: boolean;
}

/** The signed-in account and this session; throws E_UNAUTHENTICATED when signed out. */
export function getSession(api: CofferApi): Promise<SessionInfo> {
  return api.request<SessionInfo>('GET', '/session');
}

/** Revokes this session on the server and forgets the bearer token. */
export async function signOut(api: CofferApi): Promise<void> {
  await api.request('DELETE', '/session');
  api.token = undefined;
}

export async function listSessions(api: CofferApi): Promise<LiveSession[]> {
  return (await api.request<{ sessions: LiveSession[] }>('GET', '/sessions')).sessions;
}

export async function revokeSession(api: CofferApi, sessionId: string): Promise<void> {
  await api.request('DELETE', `/sessions/${encodeURIComponent(sessionId)}`);
}

/** The account's security log, newest first. */
export async function readSecurityLog(api: CofferApi, options: { limit?: number; before?: number } = {}): Promise<SecurityEvent[]> {
  const query = new URLSearchParams();
  if (options.limit !== undefined) query.set('limit', String(options.limit));
  if (options.before !== undefined) query.set('before', String(options.before));
  const suffix = query.size > 0 ? `?${query.toString()}` : '';
  return (await api.request<{ events: SecurityEvent[] }>('GET', `/security-log${suffix}`)).events;
}
