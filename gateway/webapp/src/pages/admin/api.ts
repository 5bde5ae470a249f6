// The admin API (/admin/…): JSON in and out with the person's token; a refusal becomes an
// AdminError carrying the server's own message and, for a registry check, its problems (the
// same lines the alliance file check gives).
import { ApiError, apiFetch } from '../../api/client'

export class AdminError extends ApiError {
  constructor(
    status: number,
    message: string,
    readonly problems: string[],
  ) {
    super(status, message)
  }
}

/** The error of a refused answer's body (`{detail, problems?}`). */
export function refusal(status: number, body: unknown, fallback: string): AdminError {
  const answer = (body ?? {}) as { detail?: unknown; problems?: unknown }
  const problems = Array.isArray(answer.problems) ? answer.problems.map(String) : []
  const detail = typeof answer.detail === 'string' && answer.detail ? answer.detail : fallback
  return new AdminError(status, problems.length ? problems.join('\n') : detail, problems)
}

export async function adminCall<T>(method: string, path: string, body?: unknown): Promise<T> {
  const answer = await apiFetch(`/admin${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const parsed = answer.status === 204 ? null : await answer.json().catch(() => null)
  if (!answer.ok) throw refusal(answer.status, parsed, answer.statusText || String(answer.status))
  return parsed as T
}

/** A query string of the given, non-empty values. */
export function query(values: Record<string, string | number | null | undefined>): string {
  const kept = Object.entries(values).filter(([, v]) => v !== null && v !== undefined && v !== '')
  const params = new URLSearchParams(kept.map(([k, v]) => [k, String(v)]))
  const text = params.toString()
  return text ? `?${text}` : ''
}
