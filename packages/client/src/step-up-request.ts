import { CofferError } from '@coffer/core';
import type { CofferApi } from './http.ts';

/**
 * A step-up confirmed in a browser, for a device that cannot show a passkey
 * prompt itself (the CLI over SSH, a TV): the device asks, shows the user a
 * URL and a code, and waits; the user opens the URL anywhere, checks the code
 * and confirms with a passkey; the device's session is then stepped up.
 */
export interface StepUpRequestInfo {
  readonly id: string;
  /** Shown on the device and on the page: the user confirms only when they match. */
  readonly code: string;
  /** The confirmation page. */
  readonly url: string;
  readonly expiresAt: number;
}

export type StepUpRequestStatus = 'pending' | 'approved' | 'denied' | 'cancelled' | 'expired';

/** Asks the server for a confirmation request; `action` says on the page what it is for. */
export function requestStepUp(api: CofferApi, action?: string): Promise<StepUpRequestInfo> {
  return api.request<StepUpRequestInfo>('POST', '/step-up-requests', action === undefined ? {} : { action });
}

/** Withdraws a pending request (the device stopped waiting); only the session that asked may. */
export async function cancelStepUp(api: CofferApi, id: string): Promise<void> {
  await api.request('DELETE', `/step-up-requests/${encodeURIComponent(id)}`);
}

export interface WaitOptions {
  /** Between polls; the default is 2 s. */
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Polls the request until it is decided: resolves once approved (the session
 * is stepped up), throws E_STEP_UP_DECLINED when someone declined it and
 * E_STEP_UP_REQUIRED when it expired unanswered.
 */
export async function waitForStepUp(api: CofferApi, id: string, options: WaitOptions = {}): Promise<void> {
  const intervalMs = options.intervalMs ?? 2000;
  for (;;) {
    options.signal?.throwIfAborted();
    const { status } = await api.request<{ status: StepUpRequestStatus }>('GET', `/step-up-requests/${encodeURIComponent(id)}`);
    if (status === 'approved') return;
    if (status === 'denied') throw new CofferError('E_STEP_UP_DECLINED', 'the confirmation was declined on the confirmation page');
    if (status === 'expired') throw new CofferError('E_STEP_UP_REQUIRED', 'nobody confirmed in time; the confirmation request expired');
    if (status === 'cancelled') throw new CofferError('E_STEP_UP_REQUIRED', 'the confirmation request was withdrawn');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, intervalMs);
      options.signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(options.signal?.reason as Error);
        },
        { once: true },
      );
    });
  }
}
