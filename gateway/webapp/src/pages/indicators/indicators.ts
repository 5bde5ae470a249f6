// The alliance's indicators (绩效指标) from the gateway: the Measures the server defines and
// their summary MeasureReports for a month, each overall and per stratum (a device, a member),
// and the same as the CSV the alliance hands in.
import { apiBlob, fhirGet } from '../../api/client'
import { resourcesOf, type Bundle, type CodeableConcept, type Resource } from '../../api/fhir'

export interface Measure extends Resource {
  resourceType: 'Measure'
  title?: string
  subtitle?: string
  description?: string
  scoring?: CodeableConcept
  topic?: CodeableConcept[]
}

/** A family of indicators (远程诊断, 检验, 危急值…): the Measure's topic. */
export interface Family {
  code: string
  text: string
}

interface Population {
  code?: CodeableConcept
  count?: number
}

interface Counted {
  population?: Population[]
  measureScore?: { value?: number; unit?: string }
}

interface Stratum extends Counted {
  value?: CodeableConcept
}

export interface MeasureReport extends Resource {
  resourceType: 'MeasureReport'
  measure: string
  group?: (Counted & { stratifier?: { code?: CodeableConcept[]; stratum?: Stratum[] }[] })[]
}

/** One row a page shows: a stratum's (or the total's) counts and score. */
export interface Line {
  key: string
  label: string
  numerator?: number
  denominator?: number
  count?: number
  score?: number
}

/** The strata of one stratifier (by centre, by priority…): `by` is its code text. */
export interface StrataGroup {
  by: string
  lines: Line[]
}

export interface Evaluated {
  measure: Measure
  total: Line
  strata: StrataGroup[]
}

/** The first and the last day of a month `YYYY-MM`. */
export function monthRange(month: string): [string, string] {
  const [year, number] = month.split('-').map(Number)
  const last = new Date(Date.UTC(year, number, 0)).getUTCDate()
  return [`${month}-01`, `${month}-${String(last).padStart(2, '0')}`]
}

function line(key: string, label: string, counted: Counted): Line {
  const counts = Object.fromEntries(
    (counted.population ?? []).map((p) => [p.code?.coding?.[0]?.code ?? '', p.count ?? 0]),
  )
  return {
    key,
    label,
    numerator: counts['numerator'],
    denominator: counts['denominator'],
    count: counts['initial-population'] ?? counts['measure-population'],
    score: counted.measureScore?.value,
  }
}

/** A report's total, and its strata as lines, one group per stratifier. */
export function linesOf(report: MeasureReport): { total: Line; strata: StrataGroup[] } {
  const group = report.group?.[0] ?? {}
  const strata = (group.stratifier ?? []).map((stratifier) => ({
    by: stratifier.code?.[0]?.text ?? '',
    lines: (stratifier.stratum ?? []).map((stratum) =>
      line(stratum.value?.coding?.[0]?.code ?? '', stratum.value?.text ?? '', stratum),
    ),
  }))
  return { total: line('', '', group), strata }
}

/** The families of `rows`, in the order the server lists their indicators. */
export function familiesOf(rows: Evaluated[]): Family[] {
  const found = new Map<string, Family>()
  for (const { measure } of rows) {
    const topic = measure.topic?.[0]
    const code = topic?.coding?.[0]?.code
    if (code && !found.has(code)) found.set(code, { code, text: topic?.text ?? code })
  }
  return [...found.values()]
}

/** Whether `measure` is of the family `code` ('' for every family). */
export function inFamily(measure: Measure, code: string): boolean {
  return !code || measure.topic?.[0]?.coding?.[0]?.code === code
}

/** A score as people read it: a proportion as a percentage, other scores as they are. */
export function scoreText(measure: Measure, score: number | undefined): string {
  if (score === undefined) return '—'
  const scoring = measure.scoring?.coding?.[0]?.code
  return scoring === 'proportion' ? `${(score * 100).toFixed(1)}%` : String(score)
}

function query(month: string): string {
  const [start, end] = monthRange(month)
  return `periodStart=${start}&periodEnd=${end}`
}

/** Every indicator for the month, in the order the server evaluates them (family by family). */
export async function evaluate(month: string): Promise<Evaluated[]> {
  const [measures, reports] = await Promise.all([
    fhirGet<Bundle>('Measure?_count=100'),
    fhirGet<Bundle>(`Measure/$evaluate-measure?${query(month)}`),
  ])
  const byId = new Map(resourcesOf<'Measure', Measure>(measures, 'Measure').map((m) => [m.id, m]))
  return resourcesOf<'MeasureReport', MeasureReport>(reports, 'MeasureReport').flatMap((report) => {
    const measure = byId.get(report.measure.split('/').pop() ?? '')
    return measure ? [{ measure, ...linesOf(report) }] : []
  })
}

/** The month's CSV, as the browser saves it. */
export async function downloadCsv(month: string): Promise<void> {
  const blob = await apiBlob(`/fhir/Measure/$evaluate-measure?${query(month)}&_format=csv`, 'text/csv')
  const link = document.createElement('a')
  link.href = URL.createObjectURL(blob)
  link.download = `indicators-${month}.csv`
  link.click()
  URL.revokeObjectURL(link.href)
}
