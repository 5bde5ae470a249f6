// One prior result as 调阅报告 shows it — a DiagnosticReport or a lab Observation another
// member issued, opened by its reference: who issued it, when, its recognition mark (互认标识)
// when the report carries one, its studies for the viewer, and why it could not be opened.
// Pure functions over the FHIR the gateway serves, and the reads; the server decides access.
import { ApiError, fhirGet } from '../../api/client'
import { CANONICAL, type Organization, type Reference } from '../../api/fhir'
import type { Observation } from '../../lab/results'
import { idOf, type DiagnosticReport } from '../../reading/model'
import { reasonOf } from '../../reason'

export const MARK_EXTENSION = `${CANONICAL}/StructureDefinition/recognition-mark`
export const MARK_TAG = `${CANONICAL}/CodeSystem/recognition-mark`

/** A report or a lab result, with what both may carry. */
export type PriorResult = (DiagnosticReport | Observation) & {
  performer?: Reference[]
  extension?: { url: string; valueString?: string }[]
  meta?: { tag?: { system?: string; code?: string }[] }
  effectivePeriod?: { start?: string }
  effectiveDateTime?: string
  issued?: string
}

/** The mark the result carries (its extension, else its tag), '' when it carries none. */
export function markOf(result: PriorResult | null): string {
  const extension = result?.extension?.find((e) => e.url === MARK_EXTENSION)?.valueString
  return extension || result?.meta?.tag?.find((t) => t.system === MARK_TAG)?.code || ''
}

/** The organization that issued the result: its performing organization. */
export function issuerOf(result: PriorResult | null): Reference | undefined {
  return result?.performer?.find((p) => p.reference?.startsWith('Organization/'))
}

/** When the result was obtained: the exam or specimen time, else when it was issued. */
export function obtainedOf(result: PriorResult | null): string | undefined {
  return result?.effectiveDateTime ?? result?.effectivePeriod?.start ?? result?.issued
}

/** The Study Instance UIDs of an imaging report (an ImagingStudy's id is its UID). */
export function studyUidsOf(result: PriorResult | null): string[] {
  if (result?.resourceType !== 'DiagnosticReport') return []
  return (result.imagingStudy ?? []).map((study) => idOf(study, 'ImagingStudy')).filter(Boolean)
}

export type Refusal = { kind: 'forbidden' | 'notFound' } | { kind: 'failed'; reason: string }

/** Why a read failed, as the page words it: refused, not there (or not for this person —
 * the server answers 404 for both), or anything else with its reason. */
export function refusalOf(error: unknown): Refusal {
  if (error instanceof ApiError && error.status === 403) return { kind: 'forbidden' }
  if (error instanceof ApiError && (error.status === 404 || error.status === 410)) {
    return { kind: 'notFound' }
  }
  return { kind: 'failed', reason: reasonOf(error) }
}

/** The issuing institution's name: the reference's display, else the Organization's name,
 * else its id. */
export async function institutionName(result: PriorResult): Promise<string> {
  const issuer = issuerOf(result)
  if (!issuer?.reference) return ''
  if (issuer.display) return issuer.display
  try {
    return (await fhirGet<Organization>(issuer.reference)).name || idOf(issuer, 'Organization')
  } catch {
    return idOf(issuer, 'Organization')
  }
}
