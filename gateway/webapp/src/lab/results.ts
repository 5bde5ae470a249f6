// Lab results as the pages show them: the flag of a result (H/L/HH/LL → 偏高/偏低/危急), its
// value with the unit, the reference range, and whether it was corrected (and what it said
// before).  Pure functions over the FHIR the gateway serves; the server decides every rule.
import type { CodeableConcept, Reference, Resource } from '../api/fhir'
import type { TagType } from '../reading/model'

export const INTERPRETATION = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation'

export interface Quantity {
  value?: number
  comparator?: string
  unit?: string
  code?: string
}

export interface ReferenceRange {
  low?: Quantity
  high?: Quantity
  text?: string
}

export interface Observation extends Resource {
  resourceType: 'Observation'
  status: string
  code?: CodeableConcept
  subject?: Reference
  basedOn?: Reference[]
  valueQuantity?: Quantity
  valueString?: string
  valueCodeableConcept?: CodeableConcept
  interpretation?: CodeableConcept[]
  referenceRange?: ReferenceRange[]
  effectiveDateTime?: string
  issued?: string
  meta?: { lastUpdated?: string; versionId?: string }
}

/** The flags a page names; anything else (N, A, …) is shown as the server's text. */
export const FLAGS = ['HH', 'LL', 'H', 'L'] as const
export type Flag = (typeof FLAGS)[number]

/** The flag of a result: its first HL7 interpretation code among H, L, HH, LL (null when
 * normal or unflagged). */
export function flagOf(result: Observation): Flag | null {
  for (const concept of result.interpretation ?? []) {
    for (const coding of concept.coding ?? []) {
      const code = (coding.code ?? '').toUpperCase()
      if ((FLAGS as readonly string[]).includes(code)) return code as Flag
    }
  }
  return null
}

/** Critical flags are red, merely high or low ones amber. */
export function flagTag(flag: Flag): TagType {
  return flag === 'HH' || flag === 'LL' ? 'danger' : 'warning'
}

/** `6.8`, `>30`, or the text of a text result (without the unit). */
export function resultValue(result: Observation): string {
  const quantity = result.valueQuantity
  if (quantity?.value !== undefined) return `${quantity.comparator ?? ''}${quantity.value}`
  return result.valueString ?? result.valueCodeableConcept?.text ?? ''
}

/** The unit of a quantity result ('' for a text result). */
export function resultUnit(result: Observation): string {
  return result.valueQuantity?.unit ?? result.valueQuantity?.code ?? ''
}

/** `6.8 mmol/L`, `>30 U/L`, or the text of a text result. */
export function valueText(result: Observation): string {
  return [resultValue(result), resultUnit(result)].filter(Boolean).join(' ')
}

/** `3.5-5.3`, `<5.0`, `>3.5`, or the range's text as the lab wrote it. */
export function rangeText(result: Observation): string {
  const range = result.referenceRange?.[0]
  if (!range) return ''
  if (range.text) return range.text
  const [low, high] = [range.low?.value, range.high?.value]
  if (low !== undefined && high !== undefined) return `${low}-${high}`
  if (high !== undefined) return `<${high}`
  if (low !== undefined) return `>${low}`
  return ''
}

/** A result the lab changed after it was first reported. */
export function isCorrected(result: Observation): boolean {
  return result.status === 'corrected' || result.status === 'amended'
}

/** What a corrected result said before: the newest earlier version (``history``, any order)
 * whose value differs from the current one; '' when none does. */
export function previousValue(current: Observation, history: Observation[]): string {
  const now = valueText(current)
  const version = (o: Observation) => Number(o.meta?.versionId ?? 0)
  return (
    history
      .filter((o) => version(o) < version(current))
      .sort((a, b) => version(b) - version(a))
      .map(valueText)
      .find((value) => value !== '' && value !== now) ?? ''
  )
}

/** The name of a result's test: its text, else the first coding's display or code. */
export function itemName(result: Observation): string {
  const code = result.code
  return code?.text || code?.coding?.[0]?.display || code?.coding?.[0]?.code || ''
}
