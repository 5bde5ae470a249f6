import { describe, expect, it } from 'vitest'

import {
  flagOf,
  flagTag,
  isCorrected,
  itemName,
  previousValue,
  rangeText,
  resultUnit,
  resultValue,
  valueText,
  type Observation,
} from './results'

function result(fields: Partial<Observation>): Observation {
  return { resourceType: 'Observation', id: 'k', status: 'final', ...fields }
}

const flagged = (code: string) =>
  result({ interpretation: [{ coding: [{ code }], text: 'server words' }] })

describe('flagOf', () => {
  it('reads the HL7 interpretation codes H, L, HH and LL', () => {
    expect(flagOf(flagged('H'))).toBe('H')
    expect(flagOf(flagged('L'))).toBe('L')
    expect(flagOf(flagged('HH'))).toBe('HH')
    expect(flagOf(flagged('ll'))).toBe('LL')
  })
  it('has no flag for normal, other or missing interpretations', () => {
    expect(flagOf(flagged('N'))).toBeNull()
    expect(flagOf(flagged('A'))).toBeNull()
    expect(flagOf(result({}))).toBeNull()
  })
  it('shows critical flags red and high or low amber', () => {
    expect(flagTag('HH')).toBe('danger')
    expect(flagTag('LL')).toBe('danger')
    expect(flagTag('H')).toBe('warning')
    expect(flagTag('L')).toBe('warning')
  })
})

describe('valueText and rangeText', () => {
  it('gives the value with its unit and comparator', () => {
    expect(valueText(result({ valueQuantity: { value: 6.8, unit: 'mmol/L' } }))).toBe('6.8 mmol/L')
    expect(valueText(result({ valueQuantity: { value: 30, comparator: '>' } }))).toBe('>30')
    expect(valueText(result({ valueString: '阳性' }))).toBe('阳性')
    expect(valueText(result({}))).toBe('')
    expect(resultValue(result({ valueQuantity: { value: 6.8, unit: 'mmol/L' } }))).toBe('6.8')
    expect(resultUnit(result({ valueQuantity: { value: 6.8, unit: 'mmol/L' } }))).toBe('mmol/L')
    expect(resultUnit(result({ valueString: '阳性' }))).toBe('')
  })
  it('gives the range as the lab wrote it, or from its limits', () => {
    expect(rangeText(result({ referenceRange: [{ text: '3.5-5.3' }] }))).toBe('3.5-5.3')
    expect(rangeText(result({ referenceRange: [{ low: { value: 137 }, high: { value: 147 } }] }))).toBe('137-147')
    expect(rangeText(result({ referenceRange: [{ high: { value: 5 } }] }))).toBe('<5')
    expect(rangeText(result({ referenceRange: [{ low: { value: 1 } }] }))).toBe('>1')
    expect(rangeText(result({}))).toBe('')
  })
  it('names the test by its text, else its coding', () => {
    expect(itemName(result({ code: { text: '钾', coding: [{ code: 'K' }] } }))).toBe('钾')
    expect(itemName(result({ code: { coding: [{ code: 'K', display: 'Potassium' }] } }))).toBe('Potassium')
  })
})

describe('corrections', () => {
  const version = (n: number, value: number, status = 'final') =>
    result({ status, meta: { versionId: String(n) }, valueQuantity: { value, unit: 'mmol/L' } })

  it('knows corrected and amended results', () => {
    expect(isCorrected(result({ status: 'corrected' }))).toBe(true)
    expect(isCorrected(result({ status: 'amended' }))).toBe(true)
    expect(isCorrected(result({ status: 'final' }))).toBe(false)
  })
  it('finds what the newest earlier version with another value said', () => {
    const current = version(3, 4.1, 'corrected')
    const history = [current, version(1, 6.8), version(2, 5.9)]
    expect(previousValue(current, history)).toBe('5.9 mmol/L')
  })
  it('skips earlier versions with the same value, and says nothing without any', () => {
    const current = version(2, 4.1, 'corrected')
    expect(previousValue(current, [version(1, 4.1), current])).toBe('')
    expect(previousValue(current, [])).toBe('')
  })
})
