// Commissioned pathology specimens (病理标本) as the pages show them: the number (标本号),
// body site and pieces, 离体时间, and where each is on its way — the `specimen-tracking`
// extension's step (已编号 → 已送检 → 已签收 → 已接收 / 已拒收), its time, and a rejection's
// reason (`specimen-rejection-reason`) — as gateway/workflow/specimens.py writes them.  Which
// steps a row offers is a hint only: the server decides and says why it refuses.  Pure functions.
import { CANONICAL, type CodeableConcept, type Extension, type Reference, type Resource } from '../api/fhir'
import { idOf } from '../reading/model'

export const SPECIMEN_PROFILE = `${CANONICAL}/StructureDefinition/yilian-pathology-specimen`
export const TRACKING_URL = `${CANONICAL}/StructureDefinition/specimen-tracking`
export const REJECTION_URL = `${CANONICAL}/StructureDefinition/specimen-rejection-reason`

export const STEPS = ['labelled', 'sent', 'received', 'accepted', 'rejected'] as const
export type TrackingStep = (typeof STEPS)[number]
export const REJECTION_REASONS = ['unlabelled', 'insufficient-fixative', 'mismatch', 'container-damaged', 'other'] as const
export type RejectionReason = (typeof REJECTION_REASONS)[number]
/** The steps a page may offer: the sender's 送检, the centre's 签收 / 接收 / 拒收. */
export type SpecimenAction = 'send' | 'receive' | 'accept' | 'reject'

export interface Specimen extends Resource {
  resourceType: 'Specimen'
  status?: string
  accessionIdentifier?: { system?: string; value?: string }
  subject?: Reference
  request?: Reference[]
  receivedTime?: string
  extension?: Extension[]
  collection?: {
    collectedDateTime?: string
    bodySite?: CodeableConcept
    quantity?: { value?: number; unit?: string }
  }
  container?: { type?: CodeableConcept; additiveCodeableConcept?: CodeableConcept }[]
}

export interface Tracking {
  step: TrackingStep
  /** When the step was taken (ISO instant), '' when not said. */
  at: string
  /** Who took it: `Practitioner/…` or `Organization/…`. */
  by: string
}

export function trackingOf(specimen: Specimen): Tracking {
  const parts = specimen.extension?.find((e) => e.url === TRACKING_URL)?.extension ?? []
  const part = (url: string) => parts.find((p) => p.url === url)
  const code = part('step')?.valueCoding?.code ?? 'labelled'
  return {
    step: (STEPS as readonly string[]).includes(code) ? (code as TrackingStep) : 'labelled',
    at: part('time')?.valueDateTime ?? '',
    by: part('by')?.valueReference?.reference ?? '',
  }
}

/** Why the centre rejected the specimen, as the server worded it (固定液不足：…), else ''. */
export function rejectionOf(specimen: Specimen): string {
  const reason = specimen.extension?.find((e) => e.url === REJECTION_URL)?.valueCodeableConcept
  return reason?.text ?? reason?.coding?.[0]?.display ?? ''
}

export function numberOf(specimen: Specimen): string {
  return specimen.accessionIdentifier?.value ?? ''
}

/** The body site (胃窦) and the pieces (3), as the clinic wrote them. */
export function siteOf(specimen: Specimen): { site: string; pieces: number | null } {
  const collection = specimen.collection
  const site = collection?.bodySite?.text ?? collection?.bodySite?.coding?.[0]?.display ?? ''
  const pieces = collection?.quantity?.value
  return { site, pieces: typeof pieces === 'number' ? pieces : null }
}

/** The pathology order the specimen was taken for. */
export function orderIdOf(specimen: Specimen): string {
  return (specimen.request ?? []).map((r) => idOf(r, 'ServiceRequest')).find(Boolean) ?? ''
}

export type TagType = 'primary' | 'success' | 'info' | 'warning' | 'danger'

const TAGS: Record<TrackingStep, TagType> = {
  labelled: 'info',
  sent: 'warning',
  received: 'primary',
  accepted: 'success',
  rejected: 'danger',
}

export function stepTag(step: TrackingStep): TagType {
  return TAGS[step]
}

/** The steps a row offers the person, as hints: the sending clinic sends what it labelled; the
 * pathology centre's readers sign for, accept or reject what is on its way to them. */
export function actionsFor(step: TrackingStep, sender: boolean, centre: boolean): SpecimenAction[] {
  const actions: SpecimenAction[] = []
  if (sender && step === 'labelled') actions.push('send')
  if (centre && !sender) {
    if (step === 'labelled' || step === 'sent') actions.push('receive')
    if (step === 'received') actions.push('accept')
    if (step === 'sent' || step === 'received') actions.push('reject')
  }
  return actions
}

/** The specimens of one order, among those found (a search by the patient). */
export function ofOrder(specimens: Specimen[], orderId: string): Specimen[] {
  return specimens.filter((specimen) => orderIdOf(specimen) === orderId)
}
