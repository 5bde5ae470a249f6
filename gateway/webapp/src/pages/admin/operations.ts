// The operations views' calls (HL7 message log, dead outbox events, the access log) and how
// an access record's "what" is read out.
import { adminCall, query } from './api'

export interface Hl7Message {
  id: number
  peer: string
  controlId: string
  type: string
  version: string
  state: string
  received: string
  processed: string | null
  attempts: number
  error: string | null
}

export interface DeadEvent {
  id: number
  topic: string
  attempts: number
  created: string
  updated: string
  error: string | null
  payload: unknown
}

export interface AuditRecord {
  id: number
  recorded: string
  channel: string
  actor: string
  organization: string | null
  action: string
  outcome: string
  entities: Record<string, unknown>
}

export interface AuditSearch {
  patient?: string
  user?: string
  organization?: string
  /** `2026-12-01`: the first and last day, in China time. */
  since?: string
  until?: string
}

export function hl7Messages(state: string): Promise<Hl7Message[]> {
  return adminCall<Hl7Message[]>('GET', `/hl7-messages${query({ state: state === 'all' ? '' : state })}`)
}

export function replayHl7(id: number): Promise<unknown> {
  return adminCall('POST', `/hl7-messages/${id}/$replay`)
}

export function deadEvents(): Promise<DeadEvent[]> {
  return adminCall<DeadEvent[]>('GET', '/dead-events')
}

export function replayEvent(id: number): Promise<unknown> {
  return adminCall('POST', `/dead-events/${id}/$replay`)
}

export function searchAudit(
  search: AuditSearch,
): Promise<{ records: AuditRecord[]; complete: boolean }> {
  const { patient, user, organization, since, until } = search
  return adminCall('GET', `/audit-records${query({ patient, user, organization, since, until, limit: 200 })}`)
}

/** What a record touched, read out: `Patient/7`, `Observation ×3`, `检查 1.2.3`, `ae_titles TX_US1`. */
export function touched(entities: Record<string, unknown>): string {
  const parts: string[] = []
  const kind = typeof entities.resource_type === 'string' ? entities.resource_type : ''
  if (kind && typeof entities.id === 'string') parts.push(`${kind}/${entities.id}`)
  const ids = Array.isArray(entities.ids) ? entities.ids : []
  if (kind && ids.length) parts.push(ids.length === 1 ? `${kind}/${String(ids[0])}` : `${kind} ×${ids.length}`)
  else if (kind && !entities.id) parts.push(kind)
  const resources = Array.isArray(entities.resources) ? entities.resources.map(String) : []
  if (resources.length) parts.push(resources.length <= 2 ? resources.join(', ') : `${resources[0]} … ×${resources.length}`)
  for (const name of ['study_uid', 'study']) {
    if (typeof entities[name] === 'string') parts.push(`Study ${entities[name] as string}`)
  }
  if (typeof entities.section === 'string') parts.push(`${entities.section} ${String(entities.key ?? '')}`.trim())
  for (const name of ['outbox_event', 'hl7_message']) {
    if (entities[name] !== undefined) parts.push(`${name} ${String(entities[name])}`)
  }
  return parts.join('; ')
}
