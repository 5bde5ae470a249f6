import { describe, expect, it } from 'vitest'

import en from './en'
import { initialLocale, otherLocale } from './index'
import { byLocale, PAGE_MESSAGES, pageKey } from './pageMessages'
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
    expect(keys(PAGE_MESSAGES.en).sort()).toEqual(keys(PAGE_MESSAGES['zh-CN']).sort())
  })

  it("keep each page's messages under its folder's name, apart from the shared ones", () => {
    expect(pageKey('../pages/admin/messages.ts')).toBe('admin')
    expect(() => pageKey('../pages/admin/other.ts')).toThrow()
    const merged = byLocale({
      '../pages/lab/messages.ts': { 'zh-CN': { title: '检验结果' }, en: { title: 'Lab results' } },
    })
    expect(merged['zh-CN']).toEqual({ lab: { title: '检验结果' } })
    for (const page of Object.keys(PAGE_MESSAGES.en)) {
      expect(Object.keys(en)).not.toContain(page)
    }
  })
})
