// The month's settlement statement (月度结算) from the gateway's ChargeItem/$settlement: the
// pairs of members the person's organization is one of, their lines and totals, as the server
// computed them (amounts are decimal strings, shown as they come — never recomputed here).
import { apiBlob, fhirGet } from '../../api/client'
import { TIME_ZONE } from '../../format/datetime'

export interface StatementLine {
  code: string
  name: string
  basis: string
  basisName: string
  count: number
  unitFee: string
  amount: string
}

export interface Party {
  id: string
  name: string
}

export interface StatementPair {
  requesting: Party
  performing: Party
  lines: StatementLine[]
  count: number
  total: string
}

export interface Statement {
  month: string
  currency: string
  pairs: StatementPair[]
  total: string
}

const monthFormat = new Intl.DateTimeFormat('en-CA', {
  timeZone: TIME_ZONE,
  year: 'numeric',
  month: '2-digit',
})

/** `2026-12`: the month it is now in the alliance's time zone. */
export function thisMonth(now: Date = new Date()): string {
  const parts = Object.fromEntries(monthFormat.formatToParts(now).map((p) => [p.type, p.value]))
  return `${parts.year}-${parts.month}`
}

function operation(month: string): string {
  return `ChargeItem/$settlement?month=${encodeURIComponent(month)}`
}

export function loadStatement(month: string): Promise<Statement> {
  return fhirGet<Statement>(operation(month))
}

/** The statement as the server's CSV (UTF-8 with BOM, for Excel), saved as a file. */
export async function downloadStatement(month: string): Promise<void> {
  const blob = await apiBlob(`/fhir/${operation(month)}&_format=csv`, 'text/csv')
  const link = document.createElement('a')
  link.href = URL.createObjectURL(blob)
  link.download = csvName(month)
  link.click()
  URL.revokeObjectURL(link.href)
}

export function csvName(month: string): string {
  return `settlement-${month}.csv`
}
