import { describe, expect, it } from 'vitest'

import type { Patient } from '../../reading/model'
import { actionKey, levelKey, patientIdentifier } from './alerts'

describe('levelKey', () => {
  it('names who must act at each escalation level', () => {
    expect(levelKey(0)).toBe('clinic')
    expect(levelKey(1)).toBe('head')
    expect(levelKey(2)).toBe('centre')
  })
})

describe('actionKey', () => {
  it('keeps the chain actions and files anything else as other', () => {
    expect(actionKey('raised')).toBe('raised')
    expect(actionKey('acknowledged')).toBe('acknowledged')
    expect(actionKey('forwarded')).toBe('other')
  })
})

describe('patientIdentifier', () => {
  const patient = (values: string[]): Patient => ({
    resourceType: 'Patient',
    id: 'p',
    identifier: values.map((value) => ({ value })),
  })

  it('prefers the 身份证号 over the clinic patient ID', () => {
    expect(patientIdentifier(patient(['TX000123', '330702198001011232']))?.value).toBe('330702198001011232')
  })
  it('falls back to the first identifier, and to nothing', () => {
    expect(patientIdentifier(patient(['TX000123']))?.value).toBe('TX000123')
    expect(patientIdentifier(null)).toBeUndefined()
  })
})
