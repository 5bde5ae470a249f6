import { describe, expect, it } from 'vitest'

import en from './en'
import { initialLocale, otherLocale } from './index'
import zhCN from './zh-CN'

function keys(messages: object, prefix = ''): string[] {
  return Object.entries(messages).flatMap(([key, value]) =>
    typeof value === 'object' ? keys(value, `${prefix}${key}.`) : [`${prefix}${key}`],
  )
}

describe('locales', () => {
  it('start in zh-CN unless English was chosen before', () => {
    expect(initialLocale(null)).toBe('zh-CN')
    expect(initialLocale('fr')).toBe('zh-CN')
    expect(initialLocale('en')).toBe('en')
  })

  it('switch between the two', () => {
    expect(otherLocale('zh-CN')).toBe('en')
    expect(otherLocale('en')).toBe('zh-CN')
  })

  it('have the same messages in both languages', () => {
    expect(keys(en).sort()).toEqual(keys(zhCN).sort())
  })
})
