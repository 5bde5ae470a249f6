// Pathology over FHIR with the person's token: the specimens the person may see (the clinic's
// own, the centre's incoming) with their patients and orders, the specimens of one order, the
// steps ($send, $receive, $accept, $reject), the printable label ($label, SVG), the IHC code
// systems and a supplementary report ($amend kind=appended).
import { apiBlob, fhirGet, fhirPost } from '../api/client'
import { resourcesOf, type Bundle, type Organization, type Resource } from '../api/fhir'
import { codeSystem, type CodeSystemConcept } from '../api/terminology'
import { idOf, parameters, type DiagnosticReport, type Patient, type ServiceRequest } from '../reading/model'
import { MARKER_SYSTEM, RESULT_SYSTEM } from './report'
import { ofOrder, orderIdOf, SPECIMEN_PROFILE, type Specimen, type SpecimenAction } from './specimens'

export interface SpecimenRow {
  specimen: Specimen
  patient?: Patient
  order?: ServiceRequest
  clinic?: Organization
}

function byId<T extends Resource>(resources: T[]): Map<string, T> {
  return new Map(resources.map((resource) => [resource.id, resource]))
}

const PATHOLOGY = `_profile=${encodeURIComponent(SPECIMEN_PROFILE)}`

/** The pathology specimens the person's organization sees, newest first, each with its patient,
 * its order and the ordering clinic. */
export async function loadSpecimens(): Promise<SpecimenRow[]> {
  const bundle = await fhirGet<Bundle>(
    `Specimen?${PATHOLOGY}&_include=Specimen:subject&_sort=-_lastUpdated&_count=200`,
  )
  const specimens = resourcesOf<'Specimen', Specimen>(bundle, 'Specimen')
  const patients = byId(resourcesOf<'Patient', Patient>(bundle, 'Patient'))
  const orderIds = [...new Set(specimens.map(orderIdOf).filter(Boolean))]
  const orders = new Map<string, ServiceRequest>()
  const clinics = new Map<string, Organization>()
  if (orderIds.length) {
    const found = await fhirGet<Bundle>(
      `ServiceRequest?_id=${orderIds.map(encodeURIComponent).join(',')}` +
        `&_include=ServiceRequest:requester&_count=${orderIds.length}`,
    )
    byId(resourcesOf<'ServiceRequest', ServiceRequest>(found, 'ServiceRequest')).forEach((o, id) => orders.set(id, o))
    byId(resourcesOf<'Organization', Organization>(found, 'Organization')).forEach((o, id) => clinics.set(id, o))
  }
  return specimens.map((specimen) => {
    const order = orders.get(orderIdOf(specimen))
    return {
      specimen,
      patient: patients.get(idOf(specimen.subject, 'Patient')),
      order,
      clinic: clinics.get(idOf(order?.requester, 'Organization')),
    }
  })
}

/** The specimens of a pathology order (found by its patient, as the server finds them). */
export async function specimensOfOrder(order: ServiceRequest): Promise<Specimen[]> {
  const patient = idOf(order.subject, 'Patient')
  const bundle = await fhirGet<Bundle>(
    `Specimen?${PATHOLOGY}&subject=Patient/${encodeURIComponent(patient)}&_count=200`,
  )
  const found = ofOrder(resourcesOf<'Specimen', Specimen>(bundle, 'Specimen'), order.id)
  return found.sort((a, b) => (a.accessionIdentifier?.value ?? '').localeCompare(b.accessionIdentifier?.value ?? ''))
}

/** A step of the specimen's way; the Specimen as it is afterwards. */
export function specimenStep(
  specimenId: string,
  action: SpecimenAction,
  values: Record<string, string> = {},
): Promise<Specimen> {
  return fhirPost<Specimen>(`Specimen/${encodeURIComponent(specimenId)}/$${action}`, parameters(values, ['reason']))
}

/** The specimen's label (50 × 30 mm SVG) in a window of its own, the print dialog asked for. */
export async function printLabel(specimenId: string, title: string): Promise<void> {
  const opened = window.open('', '_blank')
  if (!opened) throw new Error('popup blocked')
  const svg = await apiBlob(`/fhir/Specimen/${encodeURIComponent(specimenId)}/$label`, 'image/svg+xml')
  const url = URL.createObjectURL(svg)
  const document = opened.document
  document.title = title
  const style = document.createElement('style')
  style.textContent = '@page { size: 50mm 30mm; margin: 0 } body { margin: 0 } img { width: 50mm; height: 30mm }'
  document.head.append(style)
  const image = document.createElement('img')
  image.alt = title
  image.dataset.test = 'specimen-label'
  image.addEventListener('load', () => opened.print(), { once: true })
  image.src = url
  document.body.append(image)
}

let ihcCodes: Promise<IhcCodes> | null = null

export interface IhcCodes {
  markers: CodeSystemConcept[]
  results: CodeSystemConcept[]
}

/** The markers and the results the server publishes for IHC (read once; again after a
 * failure). */
export function ihcCodeSystems(): Promise<IhcCodes> {
  ihcCodes ??= Promise.all([codeSystem(MARKER_SYSTEM), codeSystem(RESULT_SYSTEM)]).then(
    ([markers, results]) => ({ markers: markers?.concept ?? [], results: results?.concept ?? [] }),
  )
  ihcCodes.catch(() => (ihcCodes = null))
  return ihcCodes
}

/** A supplementary report (补充报告) on the released report: $amend kind=appended. */
export function appendSupplement(report: DiagnosticReport, reason: string): Promise<DiagnosticReport> {
  return fhirPost<DiagnosticReport>(
    `DiagnosticReport/${encodeURIComponent(report.id)}/$amend`,
    parameters({ report, reason, kind: 'appended' }, ['kind']),
  )
}
