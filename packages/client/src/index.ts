export { CofferApi, fromBase64Url, toBase64Url, type CofferApiOptions } from './http.ts';
export { getSession, listSessions, readSecurityLog, revokeSession, signOut, type SecurityEvent, type SessionInfo } from './account.ts';
