// The OHIF viewer (/viewer/, same origin) borrows the person's login from the app window that
// opened or frames it: its app-config.js asks `window.yilianViewerSession.accessToken()` of
// window.opener / window.parent at every request, so a refreshed token is used at once and no
// token travels in a URL or lives in storage.  Only a same-origin window can reach it.
import { accessToken } from '../auth/session'

export interface ViewerSession {
  accessToken(): string | null
}

export const SESSION_PROPERTY = 'yilianViewerSession'

/** Offer the current access token to viewers this window opens or frames. */
export function offerSessionToViewers(
  target: Window = window,
  current: () => string | null = accessToken,
): void {
  const session: ViewerSession = Object.freeze({ accessToken: () => current() })
  Object.defineProperty(target, SESSION_PROPERTY, { value: session, configurable: false })
}
