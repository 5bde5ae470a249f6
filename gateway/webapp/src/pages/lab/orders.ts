// A clinic's lab orders from the gateway: its ServiceRequests of category lab with their
// patients, where each stands ($turnaround), and an order's reports and results — with the
// earlier versions (_history) of results the lab corrected.
import { ApiError, fhirGet } from '../../api/client'
import { resourcesOf, type Bundle, type Reference, type Resource } from '../../api/fhir'
import { isCorrected, type Observation } from '../../lab/results'
import { idOf, type Patient, type ServiceRequest } from '../../reading/model'

export const MILESTONES = ['ordered', 'collected', 'sent', 'received', 'rejected', 'reported'] as const
export type Milestone = (typeof MILESTONES)[number]

export interface Turnaround {
  stage: Milestone | null
  milestones: Partial<Record<Milestone, string>>
  rejectionReason?: string | null
}

export interface LabOrder {
  order: ServiceRequest
  patient?: Patient
  turnaround: Turnaround | null
}

export interface LabReport extends Resource {
  resourceType: 'DiagnosticReport'
  status: string
  code?: { text?: string; coding?: { code?: string; display?: string }[] }
  issued?: string
  result?: Reference[]
}

export interface ReportGroup {
  report: LabReport | null
  results: Observation[]
}

export interface OrderResults {
  groups: ReportGroup[]
  /** Earlier versions of corrected results, by the result's id. */
  history: Record<string, Observation[]>
}

/** Where an order stands; null when the gateway tracks no turnaround for it (404). */
export async function loadTurnaround(orderId: string): Promise<Turnaround | null> {
  try {
    return await fhirGet<Turnaround>(`ServiceRequest/${encodeURIComponent(orderId)}/$turnaround`)
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null
    throw error
  }
}

/** The lab orders ``organization`` placed, newest first, each with its patient and stage. */
export async function loadOrders(organization: string): Promise<LabOrder[]> {
  const bundle = await fhirGet<Bundle>(
    `ServiceRequest?category=lab&requester=Organization/${encodeURIComponent(organization)}` +
      '&_include=ServiceRequest:subject&_count=100',
  )
  const patients = new Map(
    resourcesOf<'Patient', Patient>(bundle, 'Patient').map((patient) => [patient.id, patient]),
  )
  const orders = resourcesOf<'ServiceRequest', ServiceRequest>(bundle, 'ServiceRequest').sort(
    (a, b) => (b.authoredOn ?? '').localeCompare(a.authoredOn ?? ''),
  )
  const stages = await Promise.all(orders.map((order) => loadTurnaround(order.id)))
  return orders.map((order, index) => ({
    order,
    patient: patients.get(idOf(order.subject, 'Patient')),
    turnaround: stages[index],
  }))
}

/** Results grouped under the report that lists them, in the report's order; those no report
 * lists come last, in a group without a report. */
export function groupByReport(reports: LabReport[], results: Observation[]): ReportGroup[] {
  const byId = new Map(results.map((result) => [result.id, result]))
  const listed = new Set<string>()
  const groups: ReportGroup[] = reports.map((report) => {
    const own = (report.result ?? [])
      .map((reference) => byId.get(idOf(reference, 'Observation')))
      .filter((result): result is Observation => result !== undefined)
    own.forEach((result) => listed.add(result.id))
    return { report, results: own }
  })
  const rest = results.filter((result) => !listed.has(result.id))
  return rest.length ? [...groups, { report: null, results: rest }] : groups
}

/** An order's reports and results, with the history of each corrected result. */
export async function loadResults(orderId: string): Promise<OrderResults> {
  const basedOn = `based-on=ServiceRequest/${encodeURIComponent(orderId)}&_count=200`
  const [reports, results] = await Promise.all([
    fhirGet<Bundle>(`DiagnosticReport?${basedOn}`),
    fhirGet<Bundle>(`Observation?${basedOn}`),
  ])
  const observations = resourcesOf<'Observation', Observation>(results, 'Observation')
  const corrected = observations.filter(isCorrected)
  const histories = await Promise.all(
    corrected.map((result) =>
      fhirGet<Bundle>(`Observation/${encodeURIComponent(result.id)}/_history`),
    ),
  )
  return {
    groups: groupByReport(resourcesOf<'DiagnosticReport', LabReport>(reports, 'DiagnosticReport'), observations),
    history: Object.fromEntries(
      corrected.map((result, index) => [
        result.id,
        resourcesOf<'Observation', Observation>(histories[index], 'Observation'),
      ]),
    ),
  }
}
