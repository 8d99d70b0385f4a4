/**
 * One command's access to its repository: the location, the storage, the
 * recovery key, the rollback memory, and the locks, all released at the end
 * (or on SIGINT/SIGTERM through cleanup.ts).
 */
import { CofferError, type RecoveryKey, type UnlockSecret } from '@coffer/core';
import { Repository, RepositoryLock, type RepositoryOptions, type Storage } from '@coffer/engine';
import { FileFreshnessStore, nodeBulkCrypto, nodeLockEnvironment, zstdCodec } from '@coffer/engine/node';
import { onCleanup } from './cleanup.ts';
import { UsageError } from './exit-codes.ts';
import type { Io } from './io.ts';
import type { Output } from './output.ts';
import { readRecoveryKey } from './secret.ts';
import { stateDirectory } from './state-dir.ts';
import { passwordGiven, readPassword } from './password.ts';
import { readLogin, serverApi, serverOrigin } from './server-login.ts';
import { loadClient } from './client.ts';
import { openStorage, schemeOf } from './storage-url.ts';

/** A step-up is good for five minutes on the server; one this recent is taken as still good. */
const STEP_UP_REUSE_MS = 60_000;
/** How often the confirmation request is polled while the user finds their passkey. */
const STEP_UP_POLL_MS = 1500;

export interface GlobalSettings {
  readonly repo: string | undefined;
  readonly recoveryKeyFile: string | undefined;
}

export class Session {
  readonly io: Io;
  readonly out: Output;
  readonly settings: GlobalSettings;
  private storageValue: Storage | undefined;
  private keyValue: { key: RecoveryKey; from: string } | undefined;
  private freshnessValue: FileFreshnessStore | undefined;
  private stepUpInFlight: Promise<void> | undefined;
  private lastStepUpAt: number | undefined;

  constructor(io: Io, out: Output, settings: GlobalSettings) {
    this.io = io;
    this.out = out;
    this.settings = settings;
  }

  get repositorySpec(): string {
    const spec = this.settings.repo ?? this.io.env.COFFER_REPOSITORY;
    if (spec === undefined || spec === '') throw new UsageError('no repository given: pass -r/--repo REPOSITORY or set COFFER_REPOSITORY');
    return spec;
  }

  async storage(): Promise<Storage> {
    this.storageValue ??= await openStorage(this.repositorySpec, this.io.env, () => this.stepUp());
    return this.storageValue;
  }

  get stateDirectory(): string {
    return stateDirectory(this.io.env);
  }

  get freshness(): FileFreshnessStore {
    this.freshnessValue ??= new FileFreshnessStore(this.stateDirectory);
    return this.freshnessValue;
  }

  async recoveryKey(): Promise<RecoveryKey> {
    this.keyValue ??= await readRecoveryKey(this.io, this.settings.recoveryKeyFile);
    return this.keyValue.key;
  }

  /**
   * The unlock secret: the recovery key when one is given (or typed at the
   * prompt); for a Coffer server repository, the vault password instead when
   * only a password is given — a vault login then releases the share that,
   * with OPAQUE's export key, opens the password keyslot.
   */
  async secret(): Promise<UnlockSecret> {
    if (schemeOf(this.repositorySpec) === 'coffer' && !this.recoveryKeyGiven() && passwordGiven(this.io)) return this.passwordSecret();
    return { type: 'recovery-key', recoveryKey: await this.recoveryKey() };
  }

  /**
   * The server asked for a fresh proof of an unlock method (before deleting).
   * With a recovery key at hand, sign its challenge. Otherwise ask the server
   * for a confirmation page, print its address and code, and wait until the
   * user confirms with a passkey in a browser (or declines, or it expires).
   * Deletes run several at once: they share one step-up, and one that comes
   * back refused just after a step-up is simply retried.
   */
  private stepUp(): Promise<void> {
    if (this.lastStepUpAt !== undefined && Date.now() - this.lastStepUpAt < STEP_UP_REUSE_MS) return Promise.resolve();
    this.stepUpInFlight ??= this.proveUnlockMethod().then(
      () => {
        this.lastStepUpAt = Date.now();
        this.stepUpInFlight = undefined;
      },
      (error: unknown) => {
        this.stepUpInFlight = undefined;
        throw error;
      },
    );
    return this.stepUpInFlight;
  }

  private async proveUnlockMethod(): Promise<void> {
    const origin = serverOrigin(this.repositorySpec);
    const login = await readLogin(this.io.env, origin);
    if (login === undefined) throw new CofferError('E_UNAUTHENTICATED', `not signed in to ${origin}`);
    const client = await loadClient();
    const api = await serverApi(origin, login.token);
    if (this.recoveryKeyGiven()) {
      await client.stepUpWithRecoveryKey(api, await this.recoveryKey());
      return;
    }
    let request: Awaited<ReturnType<typeof client.requestStepUp>>;
    try {
      request = await client.requestStepUp(api, 'delete data from your backup (coffer forget --prune / prune)');
    } catch (error) {
      // No passkey on the account: only the recovery key can prove anything.
      if (error instanceof CofferError && error.code === 'E_NOT_FOUND') {
        throw new CofferError('E_STEP_UP_REQUIRED', 'the server needs a fresh proof that you hold an unlock method before it deletes anything, and this account has no passkey to confirm with');
      }
      throw error;
    }
    const until = new Date(request.expiresAt).toLocaleTimeString();
    this.out.actionNeeded({ stepUp: { url: request.url, code: request.code, expiresAt: request.expiresAt } }, [
      'The server needs you to confirm with a passkey before it deletes anything.',
      `Open this page on any device that has your passkey:  ${request.url}`,
      `and confirm only if it shows the code:  ${request.code}`,
      `Waiting for your confirmation (until ${until}; Ctrl-C stops)…`,
    ]);
    // Stopped with Ctrl-C meanwhile: withdraw the request, so nobody confirms one nobody waits for.
    const withdraw = onCleanup(() => client.cancelStepUp(api, request.id).catch(() => undefined));
    try {
      await client.waitForStepUp(api, request.id, { intervalMs: STEP_UP_POLL_MS });
    } finally {
      withdraw();
    }
    this.out.info('Confirmed.');
  }

  recoveryKeyGiven(): boolean {
    const env = this.io.env;
    return this.settings.recoveryKeyFile !== undefined || Boolean(env.COFFER_RECOVERY_KEY_FILE) || Boolean(env.COFFER_RECOVERY_KEY);
  }

  /** The vault account name: $COFFER_USERNAME, else the one `coffer login` saved for this server. */
  async username(origin: string): Promise<string | undefined> {
    return this.io.env.COFFER_USERNAME || ((await readLogin(this.io.env, origin))?.username ?? undefined);
  }

  private async passwordSecret(): Promise<UnlockSecret> {
    const origin = serverOrigin(this.repositorySpec);
    const username = await this.username(origin);
    if (username === undefined) throw new UsageError('unlocking with a password needs the account name: set COFFER_USERNAME, or sign in once with `coffer login --username NAME`');
    const { signOut, vaultLogin } = await loadClient();
    const api = await serverApi(origin);
    const login = await vaultLogin(api, { username, password: await readPassword(this.io, 'Password') });
    // The login opened a session only to release the share; it is not kept.
    await signOut(api).catch(() => undefined);
    return { type: 'password', exportKey: login.exportKey, vaultShare: login.share };
  }

  /** zstd, the default pack size, Node's native crypto for the bulk work, and rollback memory. */
  get repositoryOptions(): RepositoryOptions {
    return { codec: zstdCodec(), bulkCrypto: nodeBulkCrypto, freshness: this.freshness };
  }

  /**
   * Opens and unlocks the repository. The storage is checked for a repository
   * before the key is asked for, so a wrong location is reported as such.
   */
  async open(): Promise<Repository> {
    await Repository.readConfig(await this.storage());
    const secret = await this.secret();
    try {
      return await Repository.open(await this.storage(), secret, this.repositoryOptions);
    } catch (error) {
      if (error instanceof CofferError && error.code === 'E_WRONG_KEY') {
        if (secret.type === 'password') throw new CofferError('E_WRONG_KEY', `the vault password is right, but the repository at ${(await this.storage()).location} has no keyslot for it (was the password changed since \`coffer key add --password\`?)`, { cause: error });
        throw new CofferError('E_WRONG_KEY', `wrong recovery key: the key from ${this.keyValue?.from ?? 'the prompt'} does not open the repository at ${(await this.storage()).location} (${error.message})`, { cause: error });
      }
      throw error;
    }
  }

  /** Runs `task` under a shared or exclusive lock, released afterwards, on failure and on SIGINT/SIGTERM. */
  async withLock<T>(repository: Repository, exclusive: boolean, task: () => Promise<T>): Promise<T> {
    const acquiring = RepositoryLock.acquire(repository.storage, repository.lockKey, exclusive, nodeLockEnvironment());
    // The lock object exists before acquire() returns: a signal arriving meanwhile waits for it, then removes it.
    const release = async (): Promise<void> => {
      const lock = await acquiring.catch(() => undefined);
      await lock?.release();
    };
    const unregister = onCleanup(release);
    try {
      await acquiring;
      // What was read before the lock may be stale: a prune may have removed packs meanwhile.
      await repository.reloadIndex();
    } catch (error) {
      unregister();
      await release().catch(() => undefined);
      throw error;
    }
    try {
      return await task();
    } finally {
      unregister();
      // A lock left behind only delays others (it goes stale); it must not hide the command's own outcome.
      await release().catch(() => {
        this.out.warn('could not remove this command\'s lock from the repository; `coffer unlock` removes it');
      });
    }
  }

  async close(): Promise<void> {
    await this.storageValue?.close();
  }
}
