// A pathology report's sections (病理诊断报告) to and from the DiagnosticReport as the server
// reads it (gateway/workflow/pathology_reading.py, gateway/pathology/ihc.py): 大体所见 and 镜下
// 所见 as the extensions pathology-gross and pathology-microscopic, 病理诊断 as `conclusion`, and
// each immunohistochemistry (IHC) result as a contained Observation — its marker from the
// CodeSystem ihc-marker, its value from ihc-result or a percentage (valueQuantity in %), the
// accepted specimen it was stained on.  A supplementary report (补充报告, $amend kind=appended)
// is the released report with one new report-supplement extension and its new results, nothing
// it said before changed.  Pure functions; the server checks every rule.
import { CANONICAL, type CodeableConcept, type Extension, type Reference, type Resource } from '../api/fhir'
import { hasExamCategory, idOf, type DiagnosticReport, type ServiceRequest } from '../reading/model'

export const GROSS_URL = `${CANONICAL}/StructureDefinition/pathology-gross`
export const MICROSCOPIC_URL = `${CANONICAL}/StructureDefinition/pathology-microscopic`
export const SUPPLEMENT_URL = `${CANONICAL}/StructureDefinition/report-supplement`
export const MARKER_SYSTEM = `${CANONICAL}/CodeSystem/ihc-marker`
export const RESULT_SYSTEM = `${CANONICAL}/CodeSystem/ihc-result`
const UCUM = 'http://unitsofmeasure.org'
/** The result "a percentage of stained cells" in a row (Ki-67 30%), beside the coded ones. */
export const PERCENT = '%'

export interface IhcRow {
  id: string
  marker: string
  /** A code of ihc-result, or PERCENT with ``percent``. */
  result: string
  percent: number | null
  /** The accepted specimen stained (its id). */
  specimen: string
}

export interface PathologyFields {
  gross: string
  microscopic: string
  diagnosis: string
  ihc: IhcRow[]
}

export interface IhcObservation extends Resource {
  resourceType: 'Observation'
  status: string
  code: CodeableConcept
  specimen?: Reference
  valueCodeableConcept?: CodeableConcept
  valueQuantity?: { value?: number; unit?: string; system?: string; code?: string }
}

export interface Supplement {
  time: string
  text: string
  by: string
}

/** An order the pathology centre reads (its exam category, as the server routes it). */
export function isPathologyOrder(order: ServiceRequest | undefined): boolean {
  return hasExamCategory(order, 'pathology')
}

function extensionsOf(report: DiagnosticReport | undefined): Extension[] {
  return report?.extension ?? []
}

function textOf(report: DiagnosticReport | undefined, url: string): string {
  return extensionsOf(report).find((e) => e.url === url)?.valueString ?? ''
}

function markerOf(observation: Resource): string {
  const code = (observation as IhcObservation).code
  return code?.coding?.find((c) => c.system === MARKER_SYSTEM)?.code ?? ''
}

/** The report's IHC results, in its order. */
export function ihcResultsOf(report: DiagnosticReport | undefined): IhcObservation[] {
  return (report?.contained ?? []).filter(
    (c): c is IhcObservation => c.resourceType === 'Observation' && markerOf(c) !== '',
  )
}

export function rowOf(observation: IhcObservation): IhcRow {
  const quantity = observation.valueQuantity
  const coded = observation.valueCodeableConcept?.coding?.find((c) => c.system === RESULT_SYSTEM)?.code
  return {
    id: observation.id,
    marker: markerOf(observation),
    result: quantity ? PERCENT : (coded ?? ''),
    percent: typeof quantity?.value === 'number' ? quantity.value : null,
    specimen: idOf(observation.specimen, 'Specimen'),
  }
}

/** The sections of a written report (an empty form without one). */
export function fieldsOf(report: DiagnosticReport | undefined): PathologyFields {
  return {
    gross: textOf(report, GROSS_URL),
    microscopic: textOf(report, MICROSCOPIC_URL),
    diagnosis: report?.conclusion ?? '',
    ihc: ihcResultsOf(report).map(rowOf),
  }
}

/** A new, empty IHC row with an id no row of ``taken`` has (ihc1, ihc2 …). */
export function newRow(taken: { id: string }[], specimen = ''): IhcRow {
  const ids = new Set(taken.map((row) => row.id))
  let n = 1
  while (ids.has(`ihc${n}`)) n += 1
  return { id: `ihc${n}`, marker: '', result: '', percent: null, specimen }
}

/** A row as the contained Observation the server checks (status follows the report). */
export function ihcObservation(row: IhcRow): IhcObservation {
  const value =
    row.result === PERCENT
      ? { valueQuantity: { value: row.percent ?? undefined, unit: '%', system: UCUM, code: '%' } }
      : { valueCodeableConcept: { coding: [{ system: RESULT_SYSTEM, code: row.result }] } }
  return {
    resourceType: 'Observation',
    id: row.id,
    status: 'preliminary',
    code: { coding: [{ system: MARKER_SYSTEM, code: row.marker }], text: row.marker },
    ...(row.specimen ? { specimen: { reference: `Specimen/${row.specimen}` } } : {}),
    ...value,
  }
}

/** What a pathology report is made of when the reader submits it; an empty section is left
 * out (the diagnosis is required: the server says so). */
export function pathologyReport(fields: PathologyFields): Pick<DiagnosticReport, 'extension' | 'conclusion' | 'contained'> {
  const sections = [
    { url: GROSS_URL, valueString: fields.gross.trim() },
    { url: MICROSCOPIC_URL, valueString: fields.microscopic.trim() },
  ].filter((section) => section.valueString)
  return {
    extension: sections,
    conclusion: fields.diagnosis.trim(),
    contained: fields.ihc.map(ihcObservation),
  }
}

/** The released report as $amend kind=appended takes it: everything it said, one new
 * report-supplement (its text) and the new IHC results. */
export function supplemented(report: DiagnosticReport, text: string, rows: IhcRow[]): DiagnosticReport {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { meta, presentedForm, ...said } = report
  return {
    ...said,
    extension: [...(report.extension ?? []), { url: SUPPLEMENT_URL, extension: [{ url: 'text', valueString: text.trim() }] }],
    contained: [...(report.contained ?? []), ...rows.map(ihcObservation)],
  }
}

/** The report's supplements, oldest first. */
export function supplementsOf(report: DiagnosticReport | undefined): Supplement[] {
  return extensionsOf(report)
    .filter((e) => e.url === SUPPLEMENT_URL)
    .map((e) => {
      const part = (url: string) => e.extension?.find((p) => p.url === url)
      return {
        time: part('time')?.valueDateTime ?? '',
        text: part('text')?.valueString ?? '',
        by: part('by')?.valueReference?.display ?? idOf(part('by')?.valueReference, 'Practitioner'),
      }
    })
}
