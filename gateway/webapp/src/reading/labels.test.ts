import { afterEach, describe, expect, it } from 'vitest'

import { i18n } from '../i18n'
import { dueLabel, patientLine } from './labels'
import type { Patient } from './model'

const zhang: Patient = {
  resourceType: 'Patient',
  id: 'p',
  name: [{ text: '张三丰' }],
  gender: 'male',
  birthDate: '1980-01-01',
}
const now = Date.parse('2026-12-02T06:00:00Z')

afterEach(() => {
  i18n.global.locale.value = 'zh-CN'
})

describe('the patient in one line', () => {
  it('says name, sex and age the Chinese way', () => {
    expect(patientLine(zhang, new Date(now))).toBe('张三丰 男 46岁')
    const baby: Patient = { resourceType: 'Patient', id: 'b', name: [{ family: '李', given: ['小', '宝'] }], birthDate: '2026-09-01' }
    expect(patientLine(baby, new Date(now))).toBe('李小宝 未知 3个月')
  })

  it('in English too', () => {
    i18n.global.locale.value = 'en'
    expect(patientLine(zhang, new Date(now))).toBe('张三丰 Male 46 y')
  })

  it('is empty without a patient', () => {
    expect(patientLine(undefined)).toBe('')
  })
})

describe('time left to the due time', () => {
  it('counts down, then says 超时 and by how much', () => {
    expect(dueLabel('2026-12-02T07:30:00Z', now)).toEqual({ text: '1小时30分', overdue: false })
    expect(dueLabel('2026-12-02T05:55:00Z', now)).toEqual({ text: '超时 5分', overdue: true })
    i18n.global.locale.value = 'en'
    expect(dueLabel('2026-12-02T05:55:00Z', now)).toEqual({ text: 'Overdue 5m', overdue: true })
  })

  it('says nothing without a due time', () => {
    expect(dueLabel(undefined, now)).toEqual({ text: '', overdue: false })
  })
})
