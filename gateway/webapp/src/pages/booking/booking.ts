// Exam booking (预约检查) from the gateway: the shared centres' bookable schedules (号源), a
// week of one schedule's slots, the appointments the organization sees with their patients,
// and its imaging orders not booked yet.  Whether a booking is allowed is decided by the
// server (its answer, 403 or 409, is shown as it comes); the page only shows which slots a
// person of this organization could try.
import { fhirGet, fhirPost, fhirPut } from '../../api/client'
import {
  resourcesOf,
  type Bundle,
  type CodeableConcept,
  type Reference,
  type Resource,
} from '../../api/fhir'
import { formatDateTime } from '../../format/datetime'
import { idOf, type Patient, type ServiceRequest } from '../../reading/model'

export const POOL = 'http://yilian.example/fhir/CodeSystem/booking-pool'
const DCM = 'http://dicom.nema.org/resources/ontology/DCM'
const DAY_MS = 86_400_000

export interface Schedule extends Resource {
  resourceType: 'Schedule'
  serviceType?: CodeableConcept[]
  actor?: Reference[]
  comment?: string
}

export interface CentreService extends Resource {
  resourceType: 'HealthcareService'
  name?: string
  providedBy?: Reference
}

export interface Slot extends Resource {
  resourceType: 'Slot'
  schedule: Reference
  status: string
  start: string
  end: string
  serviceCategory?: CodeableConcept[]
}

export interface Appointment extends Resource {
  resourceType: 'Appointment'
  status: string
  slot?: Reference[]
  start?: string
  end?: string
  basedOn?: Reference[]
  participant?: { actor?: Reference; status?: string }[]
  serviceType?: CodeableConcept[]
  cancelationReason?: CodeableConcept
}

/** A schedule with the centre it is of, and whether the person's organization runs it. */
export interface Bookable {
  schedule: Schedule
  centre?: CentreService
  ownCentre: boolean
}

export interface AppointmentRow {
  appointment: Appointment
  patient?: Patient
  order?: ServiceRequest
}

export interface OrderChoice {
  order: ServiceRequest
  patient?: Patient
}

/** The schedules of the centres the organization may book, each with its centre. */
export async function loadBookables(organization: string): Promise<Bookable[]> {
  const [schedules, centres] = await Promise.all([
    fhirGet<Bundle>('Schedule?active=true&_count=100'),
    fhirGet<Bundle>('HealthcareService?_count=100'),
  ])
  const byId = new Map(
    resourcesOf<'HealthcareService', CentreService>(centres, 'HealthcareService').map((c) => [
      c.id,
      c,
    ]),
  )
  return resourcesOf<'Schedule', Schedule>(schedules, 'Schedule')
    .map((schedule) => {
      const centre = byId.get(centreOf(schedule))
      const ownCentre = idOf(centre?.providedBy, 'Organization') === organization
      return { schedule, centre, ownCentre }
    })
    .filter((bookable) => bookable.centre !== undefined)
    .sort((a, b) => scheduleName(a.schedule).localeCompare(scheduleName(b.schedule), 'zh-CN'))
}

function centreOf(schedule: Schedule): string {
  const actor = (schedule.actor ?? []).find((a) => a.reference?.startsWith('HealthcareService/'))
  return idOf(actor, 'HealthcareService')
}

export function scheduleName(schedule: Schedule): string {
  return schedule.comment ?? schedule.serviceType?.[0]?.text ?? schedule.id
}

/** The DICOM modality a schedule or an order is for (CT, MR, US…), if it says. */
export function modalityOf(concepts: (CodeableConcept | undefined)[]): string | undefined {
  for (const concept of concepts) {
    const coding = concept?.coding?.find((c) => c.system === DCM && c.code)
    if (coding) return coding.code
  }
  return undefined
}

/** Midnight in the alliance's time zone (UTC+8, no summer time) as `YYYY-MM-DDT00:00:00+08:00`. */
function localMidnight(day: string): string {
  return `${day}T00:00:00+08:00`
}

/** The Monday (`YYYY-MM-DD`, alliance time) of the week holding ``instant``. */
export function mondayOf(instant: number): string {
  const day = formatDateTime(instant).slice(0, 10)
  const weekday = (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7
  return addDays(day, -weekday)
}

export function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10)
}

/** The seven days of the week starting ``monday``. */
export function weekDays(monday: string): string[] {
  return Array.from({ length: 7 }, (_, n) => addDays(monday, n))
}

/** The slots by their day (alliance time), in time order. */
export function slotsByDay(slots: Slot[]): Map<string, Slot[]> {
  const days = new Map<string, Slot[]>()
  for (const slot of [...slots].sort((a, b) => Date.parse(a.start) - Date.parse(b.start))) {
    const day = formatDateTime(slot.start).slice(0, 10)
    days.set(day, [...(days.get(day) ?? []), slot])
  }
  return days
}

/** Reserved for members' patients (医联体预留号源). */
export function membersShare(slot: Slot): boolean {
  return (slot.serviceCategory ?? []).some((category) =>
    (category.coding ?? []).some((c) => c.system === POOL && c.code === 'members'),
  )
}

/** Whether a person of this organization could book the slot now: free, not begun, and in
 * the members' share unless the organization runs the centre. */
export function bookable(slot: Slot, ownCentre: boolean, now: number): boolean {
  return slot.status === 'free' && Date.parse(slot.start) > now && (ownCentre || membersShare(slot))
}

/** One week of a schedule's slots. */
export async function loadWeek(schedule: string, monday: string): Promise<Slot[]> {
  const from = encodeURIComponent(localMidnight(monday))
  const to = encodeURIComponent(localMidnight(addDays(monday, 7)))
  const bundle = await fhirGet<Bundle>(
    `Slot?schedule=Schedule/${encodeURIComponent(schedule)}&start=ge${from}&start=lt${to}` +
      '&_sort=start&_count=500',
  )
  return resourcesOf<'Slot', Slot>(bundle, 'Slot')
}

/** The appointments the organization sees from ``monday`` for a week (its own bookings; for
 * the centre's organization, every booking with its centres), with patients and orders. */
export async function loadAppointments(monday: string): Promise<AppointmentRow[]> {
  const from = encodeURIComponent(localMidnight(monday))
  const to = encodeURIComponent(localMidnight(addDays(monday, 7)))
  const bundle = await fhirGet<Bundle>(
    `Appointment?date=ge${from}&date=lt${to}&_include=Appointment:patient` +
      '&_include=Appointment:based-on&_sort=date&_count=500',
  )
  const patients = new Map(resourcesOf<'Patient', Patient>(bundle, 'Patient').map((p) => [p.id, p]))
  const orders = new Map(
    resourcesOf<'ServiceRequest', ServiceRequest>(bundle, 'ServiceRequest').map((o) => [o.id, o]),
  )
  return resourcesOf<'Appointment', Appointment>(bundle, 'Appointment').map((appointment) => {
    const patient = (appointment.participant ?? [])
      .map((p) => idOf(p.actor, 'Patient'))
      .find((id) => id !== '')
    return {
      appointment,
      patient: patient ? patients.get(patient) : undefined,
      order: orders.get(idOf(appointment.basedOn?.[0], 'ServiceRequest')),
    }
  })
}

/** The organization's active imaging orders for ``modality`` that hold no booking yet. */
export async function loadOrdersToBook(
  organization: string,
  modality: string | undefined,
): Promise<OrderChoice[]> {
  const [orders, booked] = await Promise.all([
    fhirGet<Bundle>(
      `ServiceRequest?requester=Organization/${encodeURIComponent(organization)}` +
        '&status=active&category=imaging&_include=ServiceRequest:subject&_count=200',
    ),
    fhirGet<Bundle>('Appointment?status=booked&_count=500'),
  ])
  const held = new Set(
    resourcesOf<'Appointment', Appointment>(booked, 'Appointment').flatMap((a) =>
      (a.basedOn ?? []).map((reference) => idOf(reference, 'ServiceRequest')),
    ),
  )
  const patients = new Map(resourcesOf<'Patient', Patient>(orders, 'Patient').map((p) => [p.id, p]))
  return resourcesOf<'ServiceRequest', ServiceRequest>(orders, 'ServiceRequest')
    .filter((order) => !held.has(order.id))
    .filter((order) => {
      const asked = modalityOf([order.code])
      return !modality || !asked || asked === modality
    })
    .sort((a, b) => (b.authoredOn ?? '').localeCompare(a.authoredOn ?? ''))
    .map((order) => ({ order, patient: patients.get(idOf(order.subject, 'Patient')) }))
}

/** Book ``slot`` for the order (the server adds the patient and the centre as participants). */
export function book(slot: Slot, order: ServiceRequest): Promise<Appointment> {
  return fhirPost<Appointment>('Appointment', {
    resourceType: 'Appointment',
    status: 'booked',
    slot: [{ reference: `Slot/${slot.id}` }],
    start: slot.start,
    end: slot.end,
    basedOn: [{ reference: `ServiceRequest/${order.id}` }],
    participant: order.subject ? [{ actor: order.subject, status: 'accepted' }] : [],
  })
}

/** Move a booking to another slot (the old one is freed in the same transaction). */
export function reschedule(appointment: Appointment, slot: Slot): Promise<Appointment> {
  return fhirPut<Appointment>({
    ...appointment,
    slot: [{ reference: `Slot/${slot.id}` }],
    start: slot.start,
    end: slot.end,
  })
}

export function cancel(appointment: Appointment, reason: string): Promise<Appointment> {
  return fhirPut<Appointment>({
    ...appointment,
    status: 'cancelled',
    cancelationReason: { text: reason },
  })
}

/** The centre records whether the patient came (arrived, noshow, fulfilled). */
export function recordAttendance(appointment: Appointment, status: string): Promise<Appointment> {
  return fhirPut<Appointment>({ ...appointment, status })
}

/** Which booking holds a slot, among the appointments the organization sees. */
export function holderOf(rows: AppointmentRow[], slot: Slot): AppointmentRow | undefined {
  return rows.find(
    (row) =>
      row.appointment.status !== 'cancelled' &&
      (row.appointment.slot ?? []).some((s) => idOf(s, 'Slot') === slot.id),
  )
}
