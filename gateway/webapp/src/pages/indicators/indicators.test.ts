import { describe, expect, it } from 'vitest'

import {
  familiesOf,
  inFamily,
  linesOf,
  monthRange,
  scoreText,
  type Evaluated,
  type Measure,
  type MeasureReport,
} from './indicators'

const POP = 'http://terminology.hl7.org/CodeSystem/measure-population'
const counts = (numerator: number, denominator: number) => [
  { code: { coding: [{ system: POP, code: 'numerator' }] }, count: numerator },
  { code: { coding: [{ system: POP, code: 'denominator' }] }, count: denominator },
]

describe('indicators', () => {
  it('spans whole months, February of a leap year too', () => {
    expect(monthRange('2026-12')).toEqual(['2026-12-01', '2026-12-31'])
    expect(monthRange('2028-02')).toEqual(['2028-02-01', '2028-02-29'])
  })

  it('reads the total and each stratum of a MeasureReport, grouped by stratifier', () => {
    const report: MeasureReport = {
      resourceType: 'MeasureReport',
      id: 'r',
      measure: 'http://yilian.example/fhir/Measure/members-booking-share',
      group: [
        {
          population: counts(2, 3),
          measureScore: { value: 0.6667 },
          stratifier: [
            {
              code: [{ text: 'organization' }],
              stratum: [
                {
                  value: { coding: [{ code: 'Organization/tx-wsy' }], text: '汤溪卫生院' },
                  population: counts(1, 3),
                  measureScore: { value: 0.3333 },
                },
              ],
            },
            {
              code: [{ text: 'priority' }],
              stratum: [
                {
                  value: { coding: [{ code: 'Priority/stat' }], text: '急诊' },
                  population: counts(1, 1),
                  measureScore: { value: 1 },
                },
              ],
            },
          ],
        },
      ],
    }
    const { total, strata } = linesOf(report)
    expect([total.numerator, total.denominator, total.score]).toEqual([2, 3, 0.6667])
    expect(strata).toEqual([
      {
        by: 'organization',
        lines: [
          { key: 'Organization/tx-wsy', label: '汤溪卫生院', numerator: 1, denominator: 3, count: undefined, score: 0.3333 },
        ],
      },
      {
        by: 'priority',
        lines: [{ key: 'Priority/stat', label: '急诊', numerator: 1, denominator: 1, count: undefined, score: 1 }],
      },
    ])
  })

  it('shows proportions as percentages and nothing to score as a dash', () => {
    const proportion: Measure = {
      resourceType: 'Measure',
      id: 'm',
      scoring: { coding: [{ code: 'proportion' }] },
    }
    expect(scoreText(proportion, 0.6667)).toBe('66.7%')
    expect(scoreText(proportion, undefined)).toBe('—')
    expect(scoreText({ ...proportion, scoring: { coding: [{ code: 'cohort' }] } }, 12)).toBe('12')
  })

  it('lists the families of the indicators in the order the server gives, each once', () => {
    const family = (code: string, text: string) => [
      { coding: [{ system: 'http://yilian.example/fhir/CodeSystem/indicator-family', code }], text },
    ]
    const row = (id: string, topic?: Measure['topic']): Evaluated => ({
      measure: { resourceType: 'Measure', id, topic },
      total: { key: '', label: '' },
      strata: [],
    })
    const rows = [
      row('reading-volume', family('reading', '远程诊断')),
      row('lab-specimen-rejection-rate', family('lab', '检验')),
      row('reading-on-time-rate', family('reading', '远程诊断')),
      row('untold'),
    ]
    expect(familiesOf(rows)).toEqual([
      { code: 'reading', text: '远程诊断' },
      { code: 'lab', text: '检验' },
    ])
    expect(rows.filter((r) => inFamily(r.measure, 'reading')).map((r) => r.measure.id)).toEqual([
      'reading-volume',
      'reading-on-time-rate',
    ])
    expect(rows.filter((r) => inFamily(r.measure, ''))).toHaveLength(4)
  })
})
