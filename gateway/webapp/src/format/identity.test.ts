import { describe, expect, it } from 'vitest'

import { maskIdNumber } from './identity'

describe('maskIdNumber', () => {
  it('keeps the region and the last four of an 18-digit 身份证号', () => {
    expect(maskIdNumber('330702198001011234')).toBe('330702********1234')
  })

  it('keeps a check character X, upper-cased', () => {
    expect(maskIdNumber('33070219800101123x')).toBe('330702********123X')
  })

  it('masks the old 15-digit numbers the same way', () => {
    expect(maskIdNumber('330702800101123')).toBe('330702*****1123')
  })

  it('ignores spaces typed inside the number', () => {
    expect(maskIdNumber('330702 19800101 1234')).toBe('330702********1234')
  })

  it('shows only the last four of anything else, and nothing of short values', () => {
    expect(maskIdNumber('E12345678')).toBe('*****5678')
    expect(maskIdNumber('123')).toBe('***')
    expect(maskIdNumber(undefined)).toBe('')
  })
})
