import { describe, expect, it } from 'vitest'

import { csvName, thisMonth } from './statement'

describe('thisMonth', () => {
  it('is the month in Beijing, not in the browser', () => {
    expect(thisMonth(new Date('2026-11-30T16:30:00Z'))).toBe('2026-12') // 00:30 on 1 December
    expect(thisMonth(new Date('2026-12-31T15:59:00Z'))).toBe('2026-12')
    expect(thisMonth(new Date('2026-12-31T16:00:00Z'))).toBe('2027-01')
  })
})

describe('csvName', () => {
  it('names the file for its month', () => {
    expect(csvName('2026-12')).toBe('settlement-2026-12.csv')
  })
})
