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

async function fhirAnswer<T>(answer: Response): Promise<T> {
  const body = await answer.json().catch(() => null)
  if (!answer.ok) {
    const issue = body?.issue?.[0]
    throw new ApiError(answer.status, issue?.diagnostics ?? answer.statusText)
  }
  return body as T
}

/** POST a FHIR resource (e.g. the Parameters of an operation); the answer, or the server's
 * OperationOutcome diagnostics as the error. */
export async function fhirPost<T>(path: string, body: unknown): Promise<T> {
  const answer = await apiFetch(`/fhir/${path}`, {
    method: 'POST',
    headers: { Accept: 'application/fhir+json', 'Content-Type': 'application/fhir+json' },
    body: JSON.stringify(body),
  })
  return fhirAnswer<T>(answer)
}

/** PUT a FHIR resource (an update: e.g. an Appointment cancelled or moved to another slot); the
 * stored resource, or the server's OperationOutcome diagnostics as the error. */
export async function fhirPut<T extends { resourceType: string; id: string }>(resource: T): Promise<T> {
  const path = `${resource.resourceType}/${encodeURIComponent(resource.id)}`
  const answer = await apiFetch(`/fhir/${path}`, {
    method: 'PUT',
    headers: { Accept: 'application/fhir+json', 'Content-Type': 'application/fhir+json' },
    body: JSON.stringify(resource),
  })
  return fhirAnswer<T>(answer)
}

/** A binary the gateway serves (a DICOMweb thumbnail…) as a Blob, with the bearer token. */
export async function apiBlob(path: string, accept: string): Promise<Blob> {
  const answer = await apiFetch(path, { headers: { Accept: accept } })
  if (!answer.ok) throw new ApiError(answer.status, answer.statusText)
  return answer.blob()
}
