export { CofferApi, fromBase64Url, toBase64Url, type CofferApiOptions } from './http.ts';
export { getSession, listSessions, readSecurityLog, revokeSession, signOut, type SecurityEvent, type SessionInfo } from './account.ts';
export { changePassword, getVaultStatus, removePassword, setPassword, vaultLogin, VaultLoginError, type VaultLogin, type VaultSecrets, type VaultStatus } from './vault.ts';
export {
  createAccountWithRecoveryKey,
  listRecoveryKeys,
  registerRecoveryKey,
  removeRecoveryKey,
  signInWithRecoveryKey,
  stepUpWithRecoveryKey,
  type RecoveryKeyInfo,
  type RecoveryKeyInput,
  type RecoverySession,
} from './recovery.ts';
export {
  addPasskey,
  browserAuthenticator,
  createAccountWithPasskey,
  createPasskeyShare,
  deletePasskeyShare,
  getPasskeyShare,
  hybridUnlockSecret,
  listPasskeys,
  listPasskeyShares,
  removePasskey,
  renamePasskey,
  signInWithPasskey,
  stepUpWithPasskey,
  stripPrf,
  type CeremonyOptions,
  type HybridSlotSecret,
  type PasskeyAuthenticator,
  type PasskeyInfo,
  type PasskeySession,
  type PrfResult,
  type ShareInfo,
  type SlotIdInput,
} from './passkeys.ts';
export { cancelStepUp, requestStepUp, waitForStepUp, type StepUpRequestInfo, type StepUpRequestStatus, type WaitOptions } from './step-up-request.ts';
