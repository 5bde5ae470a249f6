// An ECG report's fields (心电图报告) — rhythm, rate, QRS axis, PR, QRS, QT, QTc and the coded
// conclusions — to and from the DiagnosticReport as the server reads it
// (gateway/workflow/ecg_reading.py, gateway/ecg/interpretation.py): `conclusionCode` with the
// centre's ecg-conclusion codings, the figures as one contained Observation `measurements`
// (components coded LOINC and MDC, UCUM units; the rhythm LOINC 8884-9).  A figure the reader
// leaves empty is the device's (the server prefills it too).  Pure functions.
import { CANONICAL, type CodeableConcept, type Coding } from '../api/fhir'
import { conceptLabel, type CodeSystem } from '../api/terminology'
import { hasExamCategory, type DiagnosticReport, type ServiceRequest } from '../reading/model'
import { LOINC, MDC, type EcgObservation, type ObservationComponent } from './recording'

export const CONCLUSION_SYSTEM = `${CANONICAL}/CodeSystem/ecg-conclusion`
const UCUM = 'http://unitsofmeasure.org'
const RHYTHM = { system: LOINC, code: '8884-9', display: 'Heart rate rhythm' }
const MEASUREMENTS_ID = 'measurements'

export const FIGURES = [
  { key: 'rate', loinc: '8867-4', mdc: '147842', unit: '/min' },
  { key: 'axis', loinc: '8632-2', mdc: '147204', unit: 'deg' },
  { key: 'pr', loinc: '8625-6', mdc: '146944', unit: 'ms' },
  { key: 'qrs', loinc: '8633-0', mdc: '147228', unit: 'ms' },
  { key: 'qt', loinc: '8634-8', mdc: '147232', unit: 'ms' },
  { key: 'qtc', loinc: '8636-3', mdc: '146948', unit: 'ms' },
] as const
export type FigureKey = (typeof FIGURES)[number]['key']

export interface EcgFields {
  /** The code of a rhythm conclusion; '' leaves it to the server (the first rhythm picked). */
  rhythm: string
  figures: Record<FigureKey, number | null>
  conclusions: string[]
}

export interface Conclusion {
  code: string
  display: string
  displayEn: string
  snomed?: Coding
  critical: boolean
  rhythm: boolean
}

/** An order the ECG centre reads (its exam category, as the server routes it). */
export function isEcgOrder(order: ServiceRequest | undefined): boolean {
  return hasExamCategory(order, 'ecg')
}

/** The conclusions of the CodeSystem ecg-conclusion, in its order. */
export function conclusionsOf(codeSystem: CodeSystem | undefined): Conclusion[] {
  return (codeSystem?.concept ?? []).map((concept) => {
    const property = (code: string) => concept.property?.find((p) => p.code === code)
    return {
      code: concept.code,
      display: concept.display ?? concept.code,
      displayEn: conceptLabel(concept, 'en'),
      snomed: property('snomed')?.valueCoding,
      critical: property('critical')?.valueBoolean === true,
      rhythm: property('rhythm')?.valueBoolean === true,
    }
  })
}

/** A conclusion's codings as the server writes them: ours, then SNOMED CT's. */
export function codingOf(conclusion: Conclusion): Coding[] {
  const ours = { system: CONCLUSION_SYSTEM, code: conclusion.code, display: conclusion.display }
  return conclusion.snomed ? [ours, conclusion.snomed] : [ours]
}

function coded(component: ObservationComponent, system: string, code: string): boolean {
  return (component.code.coding ?? []).some((c) => c.system === system && c.code === code)
}

function figureOf(observation: EcgObservation | undefined, figure: (typeof FIGURES)[number]): number | null {
  const found = (observation?.component ?? []).find(
    (component) => coded(component, LOINC, figure.loinc) || coded(component, MDC, figure.mdc),
  )
  const value = found?.valueQuantity?.value
  return typeof value === 'number' ? value : null
}

function oursOf(concept: CodeableConcept | undefined): string[] {
  return (concept?.coding ?? []).filter((c) => c.system === CONCLUSION_SYSTEM).map((c) => c.code ?? '')
}

function measurementsOf(report: DiagnosticReport | undefined): EcgObservation | undefined {
  return report?.contained?.find((r): r is EcgObservation => r.resourceType === 'Observation')
}

/** The fields of a written report, its figures else the recordings' (the first that has one). */
export function fieldsOf(report: DiagnosticReport | undefined, recordings: EcgObservation[]): EcgFields {
  const given = measurementsOf(report)
  const rhythm = given?.component?.find((component) => coded(component, LOINC, RHYTHM.code))
  const figures = Object.fromEntries(
    FIGURES.map((figure) => [
      figure.key,
      [given, ...recordings].reduce<number | null>((found, o) => found ?? figureOf(o, figure), null),
    ]),
  ) as EcgFields['figures']
  return {
    rhythm: oursOf(rhythm?.valueCodeableConcept)[0] ?? '',
    figures,
    conclusions: (report?.conclusionCode ?? []).flatMap(oursOf),
  }
}

function quantity(value: number, unit: string) {
  return { value, unit, system: UCUM, code: unit }
}

/** What an ECG report adds to the DiagnosticReport the reader submits. */
export function ecgReport(
  fields: EcgFields,
  conclusions: Conclusion[],
): Pick<DiagnosticReport, 'conclusionCode' | 'contained'> {
  const byCode = new Map(conclusions.map((conclusion) => [conclusion.code, conclusion]))
  const concept = (code: string): CodeableConcept => {
    const known = byCode.get(code)
    return known ? { coding: codingOf(known), text: known.display } : { coding: [{ system: CONCLUSION_SYSTEM, code }] }
  }
  const components: ObservationComponent[] = []
  if (fields.rhythm) {
    components.push({ code: { coding: [RHYTHM], text: '心律' }, valueCodeableConcept: concept(fields.rhythm) })
  }
  for (const figure of FIGURES) {
    const value = fields.figures[figure.key]
    if (value === null || !Number.isFinite(value)) continue
    components.push({
      code: { coding: [{ system: MDC, code: figure.mdc }, { system: LOINC, code: figure.loinc }], text: figure.key },
      valueQuantity: quantity(value, figure.unit),
    })
  }
  const measurements: EcgObservation = {
    resourceType: 'Observation',
    id: MEASUREMENTS_ID,
    status: 'preliminary',
    code: { coding: [{ system: LOINC, code: '34534-8', display: '12 lead EKG panel' }], text: '心电图测量' },
    component: components,
  }
  return {
    conclusionCode: fields.conclusions.map(concept),
    contained: components.length ? [measurements] : [],
  }
}
