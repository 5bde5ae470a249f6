// The app's side of the gateway's OAuth 2.1 / SMART login, as pure functions: where to send
// the browser, what came back on the callback, when to refresh.
export const CLIENT_ID = 'yilian-web'
export const APP_BASE = '/app'
export const CALLBACK_ROUTE = '/callback'
// No data scopes asked: the token carries what the person's roles allow (the server decides).
export const SCOPE = 'openid fhirUser'

/** What the app remembers across the trip to the login page (sessionStorage): never a token. */
export interface PendingLogin {
  verifier: string
  state: string
  returnTo: string
}

export interface TokenAnswer {
  access_token: string
  token_type: string
  expires_in: number
  scope: string
  refresh_token: string
}

export function redirectUri(origin: string): string {
  return `${origin}${APP_BASE}${CALLBACK_ROUTE}`
}

export function authorizeUrl(
  origin: string,
  challenge: string,
  state: string,
  locale: string,
): string {
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: redirectUri(origin),
    scope: SCOPE,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    aud: `${origin}/fhir`,
    ui_locales: locale,
  })
  return `${origin}/auth/authorize?${params}`
}

export type CallbackResult =
  | { kind: 'code'; code: string }
  | { kind: 'error'; error: string; description: string }

/** The callback's query: a code for our own request (same state), or why there is none. */
export function readCallback(search: string, pending: PendingLogin | null): CallbackResult {
  const query = new URLSearchParams(search)
  if (!pending || query.get('state') !== pending.state) {
    return { kind: 'error', error: 'state_mismatch', description: 'not the login this tab began' }
  }
  const error = query.get('error')
  if (error) {
    return { kind: 'error', error, description: query.get('error_description') ?? '' }
  }
  const code = query.get('code')
  if (!code) return { kind: 'error', error: 'invalid_request', description: 'no code' }
  return { kind: 'code', code }
}

/** Milliseconds until a token of this lifetime should be refreshed: a minute before it
 * expires, or at four fifths of a short lifetime; never sooner than five seconds. */
export function refreshDelayMs(expiresInSeconds: number): number {
  const ahead = Math.min(60, expiresInSeconds / 5)
  return Math.max(expiresInSeconds - ahead, 5) * 1000
}

/** Only a route of the app may be returned to after login (no open redirect). */
export function safeReturnPath(path: string | null | undefined): string {
  if (!path || !path.startsWith('/') || path.startsWith('//')) return '/'
  return path.startsWith(CALLBACK_ROUTE) ? '/' : path
}
