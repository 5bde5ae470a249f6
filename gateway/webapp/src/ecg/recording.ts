// An ECG recording as the gateway serves it (gateway/ecg/observation.py): one FHIR Observation
// coded MDC 131328 with a component per lead — `valueSampledData` whose samples are integers,
// `origin` (µV) + `factor` × sample the potential in µV, `period` ms between two samples — and a
// component per device measurement (MDC and LOINC codes).  Pure functions.
import type { CodeableConcept, Reference } from '../api/fhir'
import type { Observation, Quantity } from '../lab/results'

export const MDC = 'urn:oid:2.16.840.1.113883.6.24'
export const LOINC = 'http://loinc.org'
export const ECG_POTENTIAL = 131328 // MDC_ECG_ELEC_POTL; lead N is 131328 + N

// The leads' printed names by MDC lead term (DICOM CID 3001 `2:N`).
const LEAD_LABELS: Record<number, string> = {
  1: 'I', 2: 'II', 61: 'III', 62: 'aVR', 63: 'aVL', 64: 'aVF',
  3: 'V1', 4: 'V2', 5: 'V3', 6: 'V4', 7: 'V5', 8: 'V6',
  9: 'V7', 66: 'V8', 67: 'V9', 16: 'X', 17: 'Y', 18: 'Z',
}

export interface SampledData {
  origin: { value: number; unit?: string }
  period: number
  factor?: number
  dimensions: number
  data?: string
}

export interface ObservationComponent {
  code: CodeableConcept
  valueSampledData?: SampledData
  valueQuantity?: Quantity & { system?: string }
  valueCodeableConcept?: CodeableConcept
  valueString?: string
}

/** An Observation with components: an ECG recording, or a report's measurements. */
export interface EcgObservation extends Observation {
  device?: Reference
  component?: ObservationComponent[]
  note?: { text?: string }[]
  derivedFrom?: Reference[]
}

export interface Lead {
  term: number
  label: string
  /** The potential of each sample in µV. */
  microvolts: Float64Array
}

export interface Recording {
  id: string
  periodMs: number
  leads: Lead[]
  effective?: string
  device?: string
  statements: string[]
}

export function leadLabel(term: number): string {
  return LEAD_LABELS[term] ?? `${term}`
}

function leadTerm(code: CodeableConcept): number | null {
  for (const coding of code.coding ?? []) {
    const value = Number(coding.code)
    if (coding.system === MDC && Number.isInteger(value) && value > ECG_POTENTIAL) {
      return value - ECG_POTENTIAL
    }
  }
  return null
}

/** The samples of a lead in µV; null when one is not a number (E, L, U: not drawn). */
export function microvoltsOf(sampled: SampledData): Float64Array | null {
  const words = (sampled.data ?? '').trim().split(/\s+/).filter(Boolean)
  const values = new Float64Array(words.length)
  const factor = sampled.factor ?? 1
  for (let i = 0; i < words.length; i++) {
    const sample = Number(words[i])
    if (!Number.isFinite(sample)) return null
    values[i] = sampled.origin.value + factor * sample
  }
  return values
}

/** The recording an ECG Observation holds: its leads at the first lead's period, as the
 * server's chart reads them; null when it holds no lead that can be drawn. */
export function recordingOf(observation: EcgObservation): Recording | null {
  let periodMs: number | null = null
  const leads: Lead[] = []
  for (const component of observation.component ?? []) {
    const sampled = component.valueSampledData
    const term = leadTerm(component.code)
    if (!sampled || sampled.dimensions !== 1 || term === null) continue
    if (periodMs !== null && sampled.period !== periodMs) continue
    const microvolts = microvoltsOf(sampled)
    if (!microvolts || !microvolts.length) continue
    periodMs = sampled.period
    leads.push({ term, label: leadLabel(term), microvolts })
  }
  if (periodMs === null) return null
  return {
    id: observation.id,
    periodMs,
    leads,
    effective: observation.effectiveDateTime,
    device: observation.device?.display,
    statements: (observation.note ?? []).map((note) => note.text ?? '').filter(Boolean),
  }
}
