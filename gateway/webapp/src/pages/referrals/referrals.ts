// Referrals (双向转诊) from the gateway: an organization's inbox and outbox
// (ServiceRequest/$referrals), the receiver's steps as operations on the Task ($accept,
// $decline, $arrive, $complete), the referrer's revocation (the referral revoked with a plain
// update), and a new referral as a FHIR ServiceRequest.  The server decides every rule; the
// page shows the steps it says the person may take (``actions``).
import { ApiError, apiFetch, fhirGet, fhirPost } from '../../api/client'
import type { Bundle, Organization, Reference, Resource } from '../../api/fhir'
import { resourcesOf } from '../../api/fhir'
import { parameters, type Patient } from '../../reading/model'

export type Box = 'in' | 'out'
export type Direction = 'up' | 'down'
export type Action = 'accept' | 'decline' | 'arrive' | 'complete' | 'cancel'
export const STEPS = [
  'referred',
  'accepted',
  'declined',
  'arrived',
  'completed',
  'cancelled',
  'escalated',
] as const
export type Step = (typeof STEPS)[number]

export const DIRECTION_SYSTEM = 'http://yilian.example/fhir/CodeSystem/referral-direction'
export const REFERRAL_CODING = {
  system: 'http://snomed.info/sct',
  code: '3457005',
  display: 'Patient referral',
}

export interface Document {
  reference: string
  type: string
  title: string | null
  status?: string
}

export interface Referral {
  id: string
  task: string
  direction: Direction
  priority: string
  state: 'received' | 'accepted' | 'declined' | 'arrived' | 'completed' | 'cancelled'
  referrer: { id: string; name: string | null }
  receiver: { id: string; name: string | null }
  department: string | null
  reason: string | null
  patient: Patient | null
  documents: Document[]
  summary: Document[]
  statusReason: string | null
  acceptDue: string | null
  booked: boolean
  steps: Partial<Record<Step, { at: string; by?: string | null }>>
  actions: Action[]
}

export async function loadBox(box: Box): Promise<Referral[]> {
  const answer = await fhirGet<{ referrals: Referral[] }>(`ServiceRequest/$referrals?box=${box}`)
  return answer.referrals
}

/** One of the receiver's steps on the referral's Task (the Task as it is now comes back). */
export function takeStep(
  referral: Referral,
  action: Exclude<Action, 'cancel'>,
  values: Record<string, string> = {},
): Promise<unknown> {
  return fhirPost(`Task/${encodeURIComponent(referral.task)}/$${action}`, parameters(values))
}

/** The referrer revokes its referral — a plain FHIR update of its status, the version read
 * (If-Match) — allowed by the server only before acceptance. */
export async function revoke(referral: Referral): Promise<void> {
  const path = `ServiceRequest/${encodeURIComponent(referral.id)}`
  const current = await fhirGet<Resource & { meta?: { versionId?: string } }>(path)
  const answer = await apiFetch(`/fhir/${path}`, {
    method: 'PUT',
    headers: {
      Accept: 'application/fhir+json',
      'Content-Type': 'application/fhir+json',
      ...(current.meta?.versionId ? { 'If-Match': `W/"${current.meta.versionId}"` } : {}),
    },
    body: JSON.stringify({ ...current, status: 'revoked' }),
  })
  if (!answer.ok) {
    const body = await answer.json().catch(() => null)
    throw new ApiError(answer.status, body?.issue?.[0]?.diagnostics ?? answer.statusText)
  }
}

/** The steps that happened, in order, for the timeline. */
export function stepsOf(referral: Referral): { step: Step; at: string; by: string | null }[] {
  return STEPS.filter((step) => referral.steps[step]).map((step) => ({
    step,
    at: referral.steps[step]!.at,
    by: referral.steps[step]!.by ?? null,
  }))
}

/** 心肌标志物、胸部正位片: the documents' titles (their type when they have none). */
export function titles(documents: Document[]): string {
  return documents.map((d) => d.title ?? d.type).join('、')
}

export type TagType = 'primary' | 'success' | 'info' | 'warning' | 'danger'

const STATE_TAGS: Record<Referral['state'], TagType> = {
  received: 'warning',
  accepted: 'primary',
  arrived: 'primary',
  completed: 'success',
  declined: 'danger',
  cancelled: 'info',
}

export function stateTag(state: Referral['state']): TagType {
  return STATE_TAGS[state] ?? 'info'
}

/** An urgent upward referral: the green channel (绿色通道). */
export function greenChannel(referral: Referral): boolean {
  return referral.direction === 'up' && referral.acceptDue !== null
}

export interface NewReferral {
  patient: string
  direction: Direction
  receiver: string
  requester: string
  urgent: boolean
  reason: string
  department: string
  documents: string[]
}

/** The referral as a FHIR ServiceRequest (profile yilian-referral). */
export function referralResource(
  draft: NewReferral,
  now: Date = new Date(),
): Record<string, unknown> {
  return {
    resourceType: 'ServiceRequest',
    status: 'active',
    intent: 'order',
    priority: draft.urgent ? 'urgent' : 'routine',
    category: [
      { coding: [REFERRAL_CODING] },
      { coding: [{ system: DIRECTION_SYSTEM, code: draft.direction }] },
    ],
    code: { text: draft.direction === 'up' ? '上转' : '下转' },
    subject: { reference: `Patient/${draft.patient}` },
    requester: { reference: `Organization/${draft.requester}` },
    performer: [{ reference: `Organization/${draft.receiver}` }],
    ...(draft.department.trim() ? { performerType: { text: draft.department.trim() } } : {}),
    reasonCode: [{ text: draft.reason.trim() }],
    ...(draft.documents.length
      ? { supportingInfo: draft.documents.map((reference) => ({ reference })) }
      : {}),
    authoredOn: now.toISOString(),
  }
}

export function refer(draft: NewReferral): Promise<Resource> {
  return fhirPost<Resource>('ServiceRequest', referralResource(draft))
}

/** Patients by name or 身份证号 as the person may see them. */
export async function findPatients(text: string): Promise<Patient[]> {
  const value = text.trim()
  const query = /^\d{15}$|^\d{17}[\dXx]$/.test(value)
    ? `identifier=${encodeURIComponent(value)}`
    : `name=${encodeURIComponent(value)}`
  const bundle = await fhirGet<Bundle>(`Patient?${query}&_count=20`)
  return resourcesOf<'Patient', Patient>(bundle, 'Patient')
}

export interface Report extends Resource {
  code?: { text?: string }
  effectiveDateTime?: string
  issued?: string
  status?: string
}

/** A patient's reports that may go with a referral, newest first. */
export async function reportsOf(patientId: string): Promise<Report[]> {
  const bundle = await fhirGet<Bundle>(
    `DiagnosticReport?subject=Patient/${encodeURIComponent(patientId)}&_sort=-date&_count=50`,
  )
  return resourcesOf<'DiagnosticReport', Report>(bundle, 'DiagnosticReport')
}

const ORGANIZATION_KIND = 'http://yilian.example/fhir/CodeSystem/organization-kind'

/** The alliance's member organizations (the directory, not the alliances themselves), to
 * choose the receiver from. */
export async function organizations(): Promise<Organization[]> {
  const bundle = await fhirGet<Bundle>('Organization?_count=200')
  return resourcesOf<'Organization', Organization>(bundle, 'Organization').filter((org) =>
    isMember(org),
  )
}

export function isMember(org: Organization): boolean {
  const kinds = (org.type ?? []).flatMap((type) => type.coding ?? [])
  return !kinds.some((coding) => coding.system === ORGANIZATION_KIND && coding.code === 'alliance')
}

export type { Reference }
