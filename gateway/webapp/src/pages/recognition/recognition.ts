// Mutual recognition at order time (区域互认) as the page reads it: the organization's open
// orders, what ServiceRequest/$recognizable-results offers for each (the catalogue item, its
// mark, the prior result, who issued it, when, until when), the decisions already recorded
// (DetectedIssues implicating the order and the prior), and a decision as the Parameters of
// $recognition-decision.  The server decides what is recognisable and what may be decided.
import { fhirGet, fhirPost } from '../../api/client'
import type { Bundle, CodeableConcept, Coding, Reference, Resource } from '../../api/fhir'
import { CANONICAL, resourcesOf } from '../../api/fhir'
import { reasonOf } from '../../reason'
import { idOf, type Patient, type ServiceRequest } from '../../reading/model'

export const ACTIONS = `${CANONICAL}/CodeSystem/recognition-action`
export const REASON_EXTENSION = `${CANONICAL}/StructureDefinition/recognition-repeat-reason`
const REFERRAL = { system: 'http://snomed.info/sct', code: '3457005' }

/** Why a recognisable result is repeated (the policy's ten reasons, in its order). */
export const REPEAT_REASONS = [
  'condition-changed',
  'inconsistent',
  'emergency',
  'before-major-procedure',
  'forensic',
  'patient-request',
  'institution-unqualified',
  'expired',
  'doctor-judgement',
  'other',
] as const
export type RepeatReason = (typeof REPEAT_REASONS)[number]

export interface Money {
  value?: number
  currency?: string
}

/** One prior result offered for an order. */
export interface Prior {
  item: Coding
  mark: string
  scope: string
  result: Reference
  institution: Reference
  obtained: string
  validUntil: string
  price: Money | null
  conclusion: string
}

export interface Offer {
  prompt: string
  priors: Prior[]
}

export interface ParametersPart {
  name: string
  part?: ParametersPart[]
  [value: string]: unknown
}

export interface FhirParameters {
  resourceType: 'Parameters'
  parameter?: ParametersPart[]
}

export type Order = ServiceRequest & {
  status?: string
  category?: CodeableConcept[]
}

export interface Decision {
  decision: 'recognised' | 'repeated'
  reason: string | null
  text: string | null
  explained: boolean
}

export interface DetectedIssue extends Resource {
  resourceType: 'DetectedIssue'
  implicated?: Reference[]
  mitigation?: {
    action?: CodeableConcept
    extension?: { url: string; valueCodeableConcept?: CodeableConcept }[]
  }[]
}

export interface OrderRow {
  order: Order
  patient: Patient | undefined
  /** What the server offered; null when asking failed (``failure`` says why). */
  offer: Offer | null
  failure: string
  /** Decisions recorded, by the prior's reference. */
  decisions: Record<string, Decision>
}

/** The decision a dialog is about to take about one prior of an order. */
export interface Deciding {
  row: OrderRow
  prior: Prior
  decision: Decision['decision']
}

function valueOf(part: ParametersPart): unknown {
  const key = Object.keys(part).find((name) => name.startsWith('value'))
  return key ? part[key] : undefined
}

/** The prompt and the priors of a $recognizable-results answer. */
export function offerOf(answer: FhirParameters): Offer {
  const parameters = answer.parameter ?? []
  const prompt = parameters.find((p) => p.name === 'prompt')
  const priors = parameters
    .filter((p) => p.name === 'prior')
    .map((p) => {
      const parts = Object.fromEntries((p.part ?? []).map((part) => [part.name, valueOf(part)]))
      return {
        item: (parts.item as Coding) ?? {},
        mark: String(parts.mark ?? ''),
        scope: String(parts.scope ?? ''),
        result: (parts.result as Reference) ?? {},
        institution: (parts.institution as Reference) ?? {},
        obtained: String(parts.obtained ?? ''),
        validUntil: String(parts.validUntil ?? ''),
        price: (parts.price as Money) ?? null,
        conclusion: String(parts.conclusion ?? ''),
      }
    })
  return { prompt: prompt ? String(valueOf(prompt) ?? '') : '', priors }
}

function isReferral(order: Order): boolean {
  return (order.category ?? []).some((concept) =>
    (concept.coding ?? []).some((c) => c.system === REFERRAL.system && c.code === REFERRAL.code),
  )
}

function placedAt(order: Order): string {
  return order.authoredOn ?? order.meta?.lastUpdated ?? ''
}

/** The examination and test orders of a search Bundle (referrals are not examinations), with
 * their patients, newest first. */
export function ordersOf(bundle: Bundle): { order: Order; patient: Patient | undefined }[] {
  const patients = new Map(
    resourcesOf<'Patient', Patient>(bundle, 'Patient').map((patient) => [patient.id, patient]),
  )
  return resourcesOf<'ServiceRequest', Order>(bundle, 'ServiceRequest')
    .filter((order) => !isReferral(order))
    .sort((a, b) => Date.parse(placedAt(b) || '0') - Date.parse(placedAt(a) || '0'))
    .map((order) => ({ order, patient: patients.get(idOf(order.subject, 'Patient')) }))
}

/** The decisions the DetectedIssues record, by order then prior reference. */
export function decisionsOf(issues: DetectedIssue[]): Record<string, Record<string, Decision>> {
  const found: Record<string, Record<string, Decision>> = {}
  for (const issue of issues) {
    const [order, prior] = (issue.implicated ?? []).map((r) => r.reference ?? '')
    const codes = (issue.mitigation ?? []).flatMap((m) =>
      (m.action?.coding ?? []).filter((c) => c.system === ACTIONS).map((c) => ({ code: c.code, m })),
    )
    const taken = codes.find((c) => c.code === 'recognised' || c.code === 'repeated')
    if (!order || !prior || !taken) continue
    const why = taken.m.extension?.find((e) => e.url === REASON_EXTENSION)?.valueCodeableConcept
    const decision: Decision = {
      decision: taken.code as Decision['decision'],
      reason: why?.coding?.[0]?.code ?? null,
      text: why?.text ?? null,
      explained: codes.some((c) => c.code === 'explained'),
    }
    found[order] = { ...found[order], [prior]: decision }
  }
  return found
}

export type Choice =
  | { decision: 'recognised'; explained: boolean }
  | { decision: 'repeated'; reason: string; text: string; explained: boolean }

/** The Parameters of $recognition-decision for ``prior`` (a reference such as
 * ``DiagnosticReport/…``). */
export function decisionParameters(prior: string, choice: Choice): FhirParameters {
  const parameter: ParametersPart[] = [
    { name: 'prior', valueReference: { reference: prior } },
    { name: 'decision', valueCode: choice.decision },
  ]
  if (choice.decision === 'repeated') {
    if (choice.reason) parameter.push({ name: 'reason', valueCode: choice.reason })
    if (choice.text.trim()) parameter.push({ name: 'reasonText', valueString: choice.text.trim() })
  }
  parameter.push({ name: 'explained', valueBoolean: choice.explained })
  return { resourceType: 'Parameters', parameter }
}

/** Whether something is left to decide: a prior not yet decided while the order is open. */
export function undecided(row: OrderRow): boolean {
  return (
    !recognised(row) && (row.offer?.priors ?? []).some((p) => !row.decisions[p.result.reference ?? ''])
  )
}

/** Whether the order's examination is no longer to be done: a prior was recognised. */
export function recognised(row: OrderRow): boolean {
  return Object.values(row.decisions).some((d) => d.decision === 'recognised')
}

/** The organization's open orders, each with what is recognisable for it and what was
 * decided; an order whose offer could not be asked for says why. */
export async function loadOrders(organization: string): Promise<OrderRow[]> {
  const bundle = await fhirGet<Bundle>(
    `ServiceRequest?requester=Organization/${encodeURIComponent(organization)}` +
      '&status=active,draft,on-hold&_sort=-authored&_include=ServiceRequest:subject&_count=50',
  )
  const rows: OrderRow[] = await Promise.all(
    ordersOf(bundle).map(async ({ order, patient }) => {
      try {
        const answer = await fhirGet<FhirParameters>(
          `ServiceRequest/${encodeURIComponent(order.id)}/$recognizable-results`,
        )
        return { order, patient, offer: offerOf(answer), failure: '', decisions: {} }
      } catch (error) {
        return { order, patient, offer: null, failure: reasonOf(error), decisions: {} }
      }
    }),
  )
  const offered = rows.filter((row) => row.offer?.priors.length)
  if (offered.length) {
    const implicated = offered.map((row) => `ServiceRequest/${row.order.id}`).join(',')
    const issues = await fhirGet<Bundle>(`DetectedIssue?implicated=${implicated}&_count=200`)
    const decided = decisionsOf(resourcesOf<'DetectedIssue', DetectedIssue>(issues, 'DetectedIssue'))
    for (const row of offered) row.decisions = decided[`ServiceRequest/${row.order.id}`] ?? {}
  }
  return rows
}

/** Record the decision; the DetectedIssue as recorded (the server's refusal as the error). */
export function decide(order: Order, prior: string, choice: Choice): Promise<DetectedIssue> {
  return fhirPost<DetectedIssue>(
    `ServiceRequest/${encodeURIComponent(order.id)}/$recognition-decision`,
    decisionParameters(prior, choice),
  )
}
