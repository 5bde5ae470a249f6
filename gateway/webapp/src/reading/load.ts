// Reading Tasks from FHIR with what their rows show (_include brings the patient, the order
// and the ordering organization in the same answer), and the operations on them.
import { fhirGet, fhirPost } from '../api/client'
import {
  resourcesOf,
  type Bundle,
  type HealthcareService,
  type Organization,
  type Resource,
} from '../api/fhir'
import { session } from '../auth/session'
import {
  idOf,
  parameters,
  stateOf,
  type DiagnosticReport,
  type Patient,
  type ReadingState,
  type ServiceRequest,
  type Task,
  URGENT_PRIORITIES,
} from './model'

const INCLUDES = '&_include=Task:patient&_include=Task:based-on&_include=Task:requester'

export interface TaskRow {
  task: Task
  state: ReadingState
  patient?: Patient
  order?: ServiceRequest
  clinic?: Organization
}

function byId<T extends Resource>(resources: T[]): Map<string, T> {
  return new Map(resources.map((resource) => [resource.id, resource]))
}

/** The Tasks a search finds, each with its patient, order and clinic. */
export async function searchTasks(query: string): Promise<TaskRow[]> {
  const bundle = await fhirGet<Bundle>(`Task?${query}${INCLUDES}&_count=200`)
  const patients = byId(resourcesOf<'Patient', Patient>(bundle, 'Patient'))
  const orders = byId(resourcesOf<'ServiceRequest', ServiceRequest>(bundle, 'ServiceRequest'))
  const clinics = byId(resourcesOf<'Organization', Organization>(bundle, 'Organization'))
  return resourcesOf<'Task', Task>(bundle, 'Task').map((task) => ({
    task,
    state: stateOf(task),
    patient: patients.get(idOf(task.for, 'Patient')),
    order: orders.get(idOf(task.basedOn?.[0], 'ServiceRequest')),
    clinic: clinics.get(idOf(task.requester, 'Organization')),
  }))
}

/** The logged-in person's id in the directory (Practitioner/<id>). */
export function practitionerId(): string {
  return session.user?.fhirUser.split('/')[1] ?? ''
}

/** The diagnostic centres (HealthcareService) the person works for, from the directory. */
export async function myCentres(): Promise<HealthcareService[]> {
  const bundle = await fhirGet<Bundle>(
    `PractitionerRole?practitioner=Practitioner/${encodeURIComponent(practitionerId())}` +
      '&_include=PractitionerRole:service',
  )
  return resourcesOf<'HealthcareService', HealthcareService>(bundle, 'HealthcareService')
}

/** A reader's worklist: what waits at their centres — every urgent Task, then the longest
 * waiting (a centre may have thousands open; the server pages them oldest first) — and what
 * they hold (阅片中, 待审核). */
export async function readerWorklist(): Promise<TaskRow[]> {
  const centres = await myCentres()
  const owners = centres.map((centre) => `HealthcareService/${centre.id}`).join(',')
  const waiting = `owner=${encodeURIComponent(owners)}&status=ready`
  const [urgent, oldest, mine] = await Promise.all([
    owners ? searchTasks(`${waiting}&priority=${URGENT_PRIORITIES.join(',')}`) : [],
    owners ? searchTasks(`${waiting}&_sort=authored-on`) : [],
    searchTasks(`owner=Practitioner/${encodeURIComponent(practitionerId())}&status=in-progress`),
  ])
  const seen = new Set<string>()
  return [...urgent, ...oldest, ...mine].filter(
    (row) => !seen.has(row.task.id) && seen.add(row.task.id),
  )
}

/** POST an operation on a Task (`claim`, `submit` …); the Task as it is afterwards. */
export function taskOperation(
  taskId: string,
  code: string,
  values: Parameters<typeof parameters>[0] = {},
): Promise<Task> {
  return fhirPost<Task>(
    `Task/${encodeURIComponent(taskId)}/$${code}`,
    parameters(values, ['reason']),
  )
}

export function readReport(task: Task): Promise<DiagnosticReport> | null {
  const reference = task.output?.[0]?.valueReference?.reference
  return reference ? fhirGet<DiagnosticReport>(reference) : null
}

export interface ImagingStudy {
  resourceType: 'ImagingStudy'
  /** The Study Instance UID (Yilian's ImagingStudy ids are the UIDs). */
  id: string
  /** Its modalities (DICOM codes: CT, SM …). */
  modality?: { system?: string; code?: string }[]
  series?: { uid: string; number?: number; instance?: { uid: string; number?: number }[] }[]
}

/** The studies (ImagingStudy) made for an order. */
export async function studiesOfOrder(orderId: string): Promise<ImagingStudy[]> {
  const bundle = await fhirGet<Bundle>(
    `ImagingStudy?basedon=ServiceRequest/${encodeURIComponent(orderId)}`,
  )
  return resourcesOf<'ImagingStudy', ImagingStudy>(bundle, 'ImagingStudy')
}
