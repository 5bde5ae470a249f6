import { describe, expect, it } from 'vitest'

import { formatDate, formatDateTime } from './datetime'

describe('formatDateTime', () => {
  it('shows an instant to the minute in China Standard Time', () => {
    expect(formatDateTime('2026-12-01T06:05:59Z')).toBe('2026-12-01 14:05')
    expect(formatDateTime('2026-12-01T14:05:00+08:00')).toBe('2026-12-01 14:05')
  })

  it('crosses midnight into the next day by the alliance clock', () => {
    expect(formatDateTime('2026-12-31T16:30:00Z')).toBe('2027-01-01 00:30')
  })

  it('takes dates and epoch milliseconds', () => {
    const instant = Date.UTC(2026, 11, 1, 6, 5)
    expect(formatDateTime(instant)).toBe('2026-12-01 14:05')
    expect(formatDateTime(new Date(instant))).toBe('2026-12-01 14:05')
  })

  it('shows nothing for nothing or what is not a time', () => {
    expect(formatDateTime(undefined)).toBe('')
    expect(formatDateTime('')).toBe('')
    expect(formatDateTime('not a date')).toBe('')
  })
})

describe('formatDate', () => {
  it('keeps a FHIR date as written', () => {
    expect(formatDate('2026-12-01')).toBe('2026-12-01')
    expect(formatDate('2026-12')).toBe('2026-12')
    expect(formatDate('12/01/2026')).toBe('')
  })
})
