// The person's login in this tab.  Tokens live only in this module's memory (never in
// localStorage or sessionStorage): a reload logs in again.  The access token is refreshed a
// little before it expires; a refused refresh, or a 401 the refresh cannot mend, sends the
// browser back to the login page, then to where it was.
import { reactive } from 'vue'

import { currentLocale } from '../i18n'
import {
  APP_BASE,
  CALLBACK_ROUTE,
  CLIENT_ID,
  authorizeUrl,
  readCallback,
  redirectUri,
  refreshDelayMs,
  safeReturnPath,
  type PendingLogin,
  type TokenAnswer,
} from './oauth'
import { challengeS256, randomToken } from './pkce'

const PENDING_KEY = 'yilian.pending-login'

export interface Userinfo {
  sub: string
  name: string
  fhirUser: string
  organization: { id: string; name: string }
  roles: { code: string; display: string }[]
}

interface Tokens {
  access: string
  refresh: string
  expiresAt: number
}

let tokens: Tokens | null = null
let refreshTimer: ReturnType<typeof setTimeout> | undefined
let refreshing: Promise<boolean> | null = null

/** What the pages may show of the login. */
export const session = reactive({
  user: null as Userinfo | null,
  loggedInAt: null as number | null,
  expiresAt: null as number | null,
})

function currentRoute(): string {
  const path = window.location.pathname.slice(APP_BASE.length) || '/'
  return `${path}${window.location.search}`
}

/** Go to the login page; the app comes back to ``returnTo`` afterwards. */
export async function beginLogin(returnTo: string = currentRoute()): Promise<void> {
  const verifier = randomToken()
  const pending: PendingLogin = { verifier, state: randomToken(16), returnTo }
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending))
  const challenge = await challengeS256(verifier)
  window.location.assign(authorizeUrl(window.location.origin, challenge, pending.state, currentLocale()))
}

async function tokenRequest(form: Record<string, string>): Promise<TokenAnswer> {
  const answer = await fetch('/auth/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: CLIENT_ID, ...form }),
  })
  const body = await answer.json()
  if (!answer.ok) throw new Error(body.error_description || body.error || answer.statusText)
  return body as TokenAnswer
}

function keep(answer: TokenAnswer): void {
  const now = Date.now()
  tokens = {
    access: answer.access_token,
    refresh: answer.refresh_token,
    expiresAt: now + answer.expires_in * 1000,
  }
  session.expiresAt = tokens.expiresAt
  clearTimeout(refreshTimer)
  refreshTimer = setTimeout(() => void renewOrLogIn(), refreshDelayMs(answer.expires_in))
}

function forget(): void {
  tokens = null
  clearTimeout(refreshTimer)
  session.user = null
  session.loggedInAt = null
  session.expiresAt = null
}

/** Renew the tokens with the refresh token (once at a time); false when the login is over. */
export function refreshTokens(): Promise<boolean> {
  if (!tokens) return Promise.resolve(false)
  const refresh = tokens.refresh
  refreshing ??= tokenRequest({ grant_type: 'refresh_token', refresh_token: refresh })
    .then((answer) => {
      keep(answer)
      return true
    })
    .catch(() => {
      forget()
      return false
    })
    .finally(() => {
      refreshing = null
    })
  return refreshing
}

/** Renew before the token expires; when the login is over (revoked, expired), ask again. */
async function renewOrLogIn(): Promise<void> {
  if (!(await refreshTokens())) await beginLogin()
}

export function accessToken(): string | null {
  return tokens?.access ?? null
}

async function loadUser(): Promise<void> {
  const answer = await fetch('/auth/userinfo', {
    headers: { Authorization: `Bearer ${accessToken()}` },
  })
  if (!answer.ok) throw new Error(`userinfo: ${answer.status}`)
  session.user = (await answer.json()) as Userinfo
}

/** At start: finish a login that comes back on the callback, or begin one.  Resolves to the
 * route to show once logged in, or null when the browser is on its way to the login page. */
export async function startSession(): Promise<string | null> {
  if (currentRoute().startsWith(CALLBACK_ROUTE)) {
    const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? 'null') as PendingLogin | null
    sessionStorage.removeItem(PENDING_KEY)
    const result = readCallback(window.location.search, pending)
    if (result.kind === 'error' || !pending) {
      throw new Error(result.kind === 'error' ? `${result.error} ${result.description}` : '')
    }
    keep(
      await tokenRequest({
        grant_type: 'authorization_code',
        code: result.code,
        redirect_uri: redirectUri(window.location.origin),
        code_verifier: pending.verifier,
      }),
    )
    session.loggedInAt = Date.now()
    await loadUser()
    return safeReturnPath(pending.returnTo)
  }
  await beginLogin()
  return null
}

/** End the login on the server (its refresh token is revoked), then show the login page. */
export async function logout(): Promise<void> {
  const refresh = tokens?.refresh
  forget()
  if (refresh) {
    await fetch('/auth/logout', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: refresh, client_id: CLIENT_ID }),
    })
  }
  await beginLogin('/')
}
