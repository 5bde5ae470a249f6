import { describe, expect, it } from 'vitest'

import type { Observation } from '../../lab/results'
import { groupByReport, type LabReport } from './orders'

const result = (id: string): Observation => ({ resourceType: 'Observation', id, status: 'final' })
const report = (id: string, results: string[]): LabReport => ({
  resourceType: 'DiagnosticReport',
  id,
  status: 'final',
  result: results.map((r) => ({ reference: `Observation/${r}` })),
})

describe('groupByReport', () => {
  it('puts each result under the report listing it, in the report order', () => {
    const groups = groupByReport(
      [report('bmp', ['na', 'k']), report('cbc', ['hgb'])],
      [result('k'), result('hgb'), result('na')],
    )
    expect(groups.map((g) => [g.report?.id, g.results.map((r) => r.id)])).toEqual([
      ['bmp', ['na', 'k']],
      ['cbc', ['hgb']],
    ])
  })
  it('keeps results no report lists in a last group, and skips results not found', () => {
    const groups = groupByReport([report('bmp', ['k', 'gone'])], [result('k'), result('loose')])
    expect(groups.map((g) => [g.report?.id ?? null, g.results.map((r) => r.id)])).toEqual([
      ['bmp', ['k']],
      [null, ['loose']],
    ])
  })
  it('has no groups without reports or results', () => {
    expect(groupByReport([], [])).toEqual([])
  })
})
