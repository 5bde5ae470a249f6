// The one way pages call the gateway: the person's bearer token on every request; a 401 is
// answered by refreshing once, then by logging in again.
import { accessToken, beginLogin, refreshTokens } from '../auth/session'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

async function send(path: string, init: RequestInit): Promise<Response> {
  const headers = new Headers(init.headers)
  const token = accessToken()
  if (token) headers.set('Authorization', `Bearer ${token}`)
  return fetch(path, { ...init, headers })
}

export async function apiFetch(path: string, init: RequestInit = {}): Promise<Response> {
  let answer = await send(path, init)
  if (answer.status === 401 && (await refreshTokens())) answer = await send(path, init)
  if (answer.status === 401) {
    await beginLogin()
    throw new ApiError(401, 'login required')
  }
  return answer
}

/** A FHIR resource or Bundle; an OperationOutcome's diagnostics become the error. */
export async function fhirGet<T>(path: string): Promise<T> {
  const answer = await apiFetch(`/fhir/${path}`, {
    headers: { Accept: 'application/fhir+json' },
  })
  const body = await answer.json()
  if (!answer.ok) {
    const issue = body?.issue?.[0]
    throw new ApiError(answer.status, issue?.diagnostics ?? answer.statusText)
  }
  return body as T
}
