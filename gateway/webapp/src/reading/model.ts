// Remote reading as the pages show it: the Task's state (businessStatus) as a tag, the
// patient as Chinese staff read them (张三丰 男 46岁), how long a Task waited and how long is
// left to its due time.  Pure functions; the server decides every rule.
import type { CodeableConcept, Extension, Reference, Resource } from '../api/fhir'

export const READING_STATUS = 'http://yilian.example/fhir/CodeSystem/reading-status'
export const FINDINGS_URL = 'http://yilian.example/fhir/StructureDefinition/report-findings'
export const EXAM_CATEGORY = 'http://yilian.example/fhir/CodeSystem/exam-category'

export const STATES = [
  'awaiting-exam',
  'awaiting-reading',
  'reading',
  'awaiting-verification',
  'released',
  'returned',
  'cancelled',
] as const
export type ReadingState = (typeof STATES)[number]

export type TagType = 'primary' | 'success' | 'info' | 'warning' | 'danger'

export interface Task extends Resource {
  resourceType: 'Task'
  status: string
  businessStatus?: CodeableConcept
  statusReason?: CodeableConcept
  priority?: string
  owner?: Reference
  for?: Reference
  basedOn?: Reference[]
  focus?: Reference
  requester?: Reference
  authoredOn?: string
  lastModified?: string
  restriction?: { period?: { end?: string } }
  output?: { valueReference?: Reference }[]
  note?: { time?: string; text?: string }[]
}

export interface Patient extends Resource {
  resourceType: 'Patient'
  name?: { text?: string; family?: string; given?: string[] }[]
  gender?: string
  birthDate?: string
  identifier?: { system?: string; value?: string }[]
}

export interface ServiceRequest extends Resource {
  resourceType: 'ServiceRequest'
  category?: CodeableConcept[]
  code?: CodeableConcept
  priority?: string
  requester?: Reference
  subject?: Reference
  authoredOn?: string
  identifier?: { system?: string; value?: string; type?: CodeableConcept }[]
}

export interface DiagnosticReport extends Resource {
  resourceType: 'DiagnosticReport'
  status: string
  code?: CodeableConcept
  conclusion?: string
  conclusionCode?: CodeableConcept[]
  contained?: Resource[]
  result?: Reference[]
  extension?: Extension[]
  performer?: Reference[]
  resultsInterpreter?: Reference[]
  issued?: string
  presentedForm?: { contentType?: string; data?: string; title?: string }[]
  imagingStudy?: Reference[]
}

/** Whether the order is of this exam category (imaging, ecg, pathology …), as the server
 * routes it to a centre. */
export function hasExamCategory(order: ServiceRequest | undefined, code: string): boolean {
  return (order?.category ?? []).some((category) =>
    (category.coding ?? []).some((c) => c.system === EXAM_CATEGORY && c.code === code),
  )
}

export function stateOf(task: Task): ReadingState {
  const code = task.businessStatus?.coding?.find((c) => c.system === READING_STATUS)?.code
  return (STATES as readonly string[]).includes(code ?? '') ? (code as ReadingState) : 'awaiting-exam'
}

const TAGS: Record<ReadingState, TagType> = {
  'awaiting-exam': 'info',
  'awaiting-reading': 'primary',
  reading: 'warning',
  'awaiting-verification': 'warning',
  released: 'success',
  returned: 'danger',
  cancelled: 'info',
}

/** The Element Plus tag type of a state. */
export function stateTag(state: ReadingState): TagType {
  return TAGS[state]
}

/** 急 for stat/asap/urgent orders, 普通 otherwise. */
/** The FHIR request priorities read before routine work. */
export const URGENT_PRIORITIES: readonly string[] = ['stat', 'asap', 'urgent']

export function isUrgent(priority: string | undefined): boolean {
  return URGENT_PRIORITIES.includes(priority ?? '')
}

/** The id of a `Type/id` reference, or '' when it names another type. */
export function idOf(reference: Reference | undefined, type: string): string {
  const text = reference?.reference ?? ''
  return text.startsWith(`${type}/`) ? text.slice(type.length + 1) : ''
}

export function patientName(patient: Patient | undefined): string {
  const name = patient?.name?.[0]
  return name?.text ?? `${name?.family ?? ''}${(name?.given ?? []).join('')}`
}

/** Whole years, months or days of age at ``now``, the way a Chinese report states it:
 * 46岁, 5个月 / 46 y, 5 mo; '' without a birth date. */
export function ageParts(
  birthDate: string | undefined,
  now: Date,
): { value: number; unit: 'year' | 'month' | 'day' } | null {
  const match = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$/.exec(birthDate ?? '')
  if (!match) return null
  const [year, month, day] = [Number(match[1]), Number(match[2] ?? 1), Number(match[3] ?? 1)]
  let months = (now.getFullYear() - year) * 12 + (now.getMonth() + 1 - month)
  if (now.getDate() < day) months -= 1
  if (months >= 12) return { value: Math.floor(months / 12), unit: 'year' }
  if (months >= 1) return { value: months, unit: 'month' }
  const days = Math.floor((now.getTime() - new Date(year, month - 1, day).getTime()) / 86_400_000)
  return { value: Math.max(days, 0), unit: 'day' }
}

/** A span of time to the minute: `1天2小时`, `2小时5分`, `5分` (zh-CN) or `1d 2h`, `2h 5m`,
 * `5m` (English); the sign is dropped. */
export function formatSpan(milliseconds: number, locale: string): string {
  const minutes = Math.floor(Math.abs(milliseconds) / 60_000)
  const days = Math.floor(minutes / 1440)
  const hours = Math.floor((minutes % 1440) / 60)
  const rest = minutes % 60
  const zh = locale.startsWith('zh')
  const units = zh ? ['天', '小时', '分'] : ['d', 'h', 'm']
  const parts: string[] = []
  if (days) parts.push(`${days}${units[0]}`, `${hours}${units[1]}`)
  else if (hours) parts.push(`${hours}${units[1]}`, `${rest}${units[2]}`)
  else parts.push(`${rest}${units[2]}`)
  return parts.join(zh ? '' : ' ')
}

/** How long is left until ``due`` (ISO instant) at ``now``; overdue when it passed. */
export function timeLeft(
  due: string | undefined,
  now: number,
  locale: string,
): { text: string; overdue: boolean } | null {
  const end = due ? Date.parse(due) : NaN
  if (Number.isNaN(end)) return null
  return { text: formatSpan(end - now, locale), overdue: end < now }
}

/** How long since ``since`` (ISO instant) at ``now``. */
export function timeSince(since: string | undefined, now: number, locale: string): string {
  const start = since ? Date.parse(since) : NaN
  return Number.isNaN(start) ? '' : formatSpan(Math.max(now - start, 0), locale)
}

export function findingsOf(report: DiagnosticReport | undefined): string {
  return report?.extension?.find((e) => e.url === FINDINGS_URL)?.valueString ?? ''
}

/** A FHIR Parameters: resources as `resource`, the listed names as `valueCode`, the rest as
 * `valueString`. */
export function parameters(
  values: Record<string, string | Resource | Record<string, unknown>>,
  codes: readonly string[] = [],
): { resourceType: 'Parameters'; parameter: Record<string, unknown>[] } {
  return {
    resourceType: 'Parameters',
    parameter: Object.entries(values).map(([name, value]) =>
      typeof value === 'string'
        ? { name, [codes.includes(name) ? 'valueCode' : 'valueString']: value }
        : { name, resource: value },
    ),
  }
}

/** The people among a report's performers or interpreters (not their organization): 王磊、赵敏. */
export function practitionerNames(references: Reference[] | undefined): string {
  return (references ?? [])
    .filter((reference) => reference.reference?.startsWith('Practitioner/'))
    .map((reference) => reference.display || idOf(reference, 'Practitioner'))
    .join('、')
}
