import { describe, expect, it } from 'vitest'

import {
  ageParts,
  formatSpan,
  idOf,
  isUrgent,
  practitionerNames,
  parameters,
  stateOf,
  stateTag,
  timeLeft,
  timeSince,
  type Task,
} from './model'

const task = (code: string): Task => ({
  resourceType: 'Task',
  id: 't',
  status: 'ready',
  businessStatus: {
    coding: [{ system: 'http://yilian.example/fhir/CodeSystem/reading-status', code }],
  },
})

describe('reading states', () => {
  it('reads businessStatus of the reading-status system', () => {
    expect(stateOf(task('awaiting-verification'))).toBe('awaiting-verification')
    expect(stateOf(task('nonsense'))).toBe('awaiting-exam')
    expect(stateOf({ resourceType: 'Task', id: 'x', status: 'requested' })).toBe('awaiting-exam')
  })

  it('colours each state', () => {
    expect(stateTag('awaiting-reading')).toBe('primary')
    expect(stateTag('reading')).toBe('warning')
    expect(stateTag('released')).toBe('success')
    expect(stateTag('returned')).toBe('danger')
    expect(stateTag('cancelled')).toBe('info')
  })

  it('calls stat, asap and urgent orders urgent', () => {
    expect(['stat', 'asap', 'urgent', 'routine', undefined].map(isUrgent)).toEqual([
      true,
      true,
      true,
      false,
      false,
    ])
  })
})

describe('spans of time', () => {
  const minute = 60_000
  it('shows minutes, hours and minutes, or days and hours', () => {
    expect(formatSpan(5 * minute, 'zh-CN')).toBe('5分')
    expect(formatSpan(125 * minute + 59_000, 'zh-CN')).toBe('2小时5分')
    expect(formatSpan((26 * 60 + 3) * minute, 'zh-CN')).toBe('1天2小时')
    expect(formatSpan(125 * minute, 'en')).toBe('2h 5m')
    expect(formatSpan(-(26 * 60) * minute, 'en')).toBe('1d 2h')
  })

  it('tells the time left and whether the due time passed', () => {
    const now = Date.parse('2026-12-02T06:00:00Z')
    expect(timeLeft('2026-12-02T16:30:00+08:00', now, 'zh-CN')).toEqual({
      text: '2小时30分',
      overdue: false,
    })
    expect(timeLeft('2026-12-02T05:35:00Z', now, 'zh-CN')).toEqual({ text: '25分', overdue: true })
    expect(timeLeft(undefined, now, 'zh-CN')).toBeNull()
    expect(timeLeft('soon', now, 'zh-CN')).toBeNull()
  })

  it('tells how long since, never negative', () => {
    const now = Date.parse('2026-12-02T06:00:00Z')
    expect(timeSince('2026-12-02T05:20:00Z', now, 'zh-CN')).toBe('40分')
    expect(timeSince('2026-12-02T07:00:00Z', now, 'zh-CN')).toBe('0分')
    expect(timeSince(undefined, now, 'zh-CN')).toBe('')
  })
})

describe('age', () => {
  const now = new Date(2026, 11, 2)
  it('counts whole years, else months, else days', () => {
    expect(ageParts('1980-01-01', now)).toEqual({ value: 46, unit: 'year' })
    expect(ageParts('1980-12-03', now)).toEqual({ value: 45, unit: 'year' })
    expect(ageParts('2026-06-15', now)).toEqual({ value: 5, unit: 'month' })
    expect(ageParts('2026-11-25', now)).toEqual({ value: 7, unit: 'day' })
    expect(ageParts('1980', now)).toEqual({ value: 46, unit: 'year' })
    expect(ageParts(undefined, now)).toBeNull()
  })
})

describe('references and parameters', () => {
  it('takes the id of a reference of the named type only', () => {
    expect(idOf({ reference: 'Practitioner/wanglei' }, 'Practitioner')).toBe('wanglei')
    expect(idOf({ reference: 'HealthcareService/jhzx-imaging' }, 'Practitioner')).toBe('')
    expect(idOf(undefined, 'Patient')).toBe('')
  })

  it('names the people among performers, not their organization', () => {
    const performers = [
      { reference: 'Practitioner/wanglei', display: '王磊' },
      { reference: 'Organization/jhzx', display: '金华市中心医院' },
      { reference: 'Practitioner/zhaomin' },
    ]
    expect(practitionerNames(performers)).toBe('王磊、zhaomin')
    expect(practitionerNames(undefined)).toBe('')
  })

  it('builds Parameters with codes, strings and resources', () => {
    const report = { resourceType: 'DiagnosticReport', status: 'preliminary' }
    expect(parameters({ reason: 'other', text: '说明', report }, ['reason'])).toEqual({
      resourceType: 'Parameters',
      parameter: [
        { name: 'reason', valueCode: 'other' },
        { name: 'text', valueString: '说明' },
        { name: 'report', resource: report },
      ],
    })
  })
})
