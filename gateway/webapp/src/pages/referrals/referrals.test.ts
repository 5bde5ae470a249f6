import { describe, expect, it } from 'vitest'

import {
  greenChannel,
  isMember,
  referralResource,
  stateTag,
  stepsOf,
  titles,
  type Referral,
} from './referrals'

const referral: Referral = {
  id: 'sr-1',
  task: 'task-1',
  direction: 'up',
  priority: 'urgent',
  state: 'accepted',
  referrer: { id: 'tx-wsy', name: '汤溪镇中心卫生院' },
  receiver: { id: 'jhzx', name: '金华市中心医院' },
  department: '心血管内科',
  reason: '急性胸痛',
  patient: null,
  documents: [],
  summary: [],
  statusReason: null,
  acceptDue: '2026-12-02T01:30:00+00:00',
  booked: false,
  steps: {
    accepted: { at: '2026-12-02T01:10:00+00:00', by: 'lihua' },
    referred: { at: '2026-12-02T01:00:00+00:00' },
  },
  actions: ['arrive'],
}

describe('referrals', () => {
  it('lists the steps that happened in their order', () => {
    expect(stepsOf(referral).map((s) => [s.step, s.by])).toEqual([
      ['referred', null],
      ['accepted', 'lihua'],
    ])
  })

  it('marks an urgent upward referral as the green channel', () => {
    expect(greenChannel(referral)).toBe(true)
    expect(greenChannel({ ...referral, direction: 'down' })).toBe(false)
    expect(greenChannel({ ...referral, acceptDue: null })).toBe(false)
  })

  it('names the documents by title, else by type', () => {
    const documents = [
      { reference: 'DiagnosticReport/a', type: 'DiagnosticReport', title: '心肌标志物' },
      { reference: 'DocumentReference/b', type: 'DocumentReference', title: null },
    ]
    expect(titles(documents)).toBe('心肌标志物、DocumentReference')
  })

  it('offers members, not alliances, as receivers', () => {
    const kind = 'http://yilian.example/fhir/CodeSystem/organization-kind'
    const alliance = { resourceType: 'Organization' as const, id: 'a', type: [{ coding: [{ system: kind, code: 'alliance' }] }] }
    const hospital = { resourceType: 'Organization' as const, id: 'h', type: [{ coding: [{ system: kind, code: 'lead_hospital' }] }] }
    expect([alliance, hospital].filter(isMember).map((o) => o.id)).toEqual(['h'])
  })

  it('tags each state', () => {
    expect(stateTag('received')).toBe('warning')
    expect(stateTag('declined')).toBe('danger')
    expect(stateTag('completed')).toBe('success')
  })

  it('makes a ServiceRequest of the referral profile', () => {
    const resource = referralResource(
      {
        patient: 'p-1',
        direction: 'up',
        receiver: 'jhzx',
        requester: 'tx-wsy',
        urgent: true,
        reason: ' 急性胸痛 ',
        department: '',
        documents: ['DiagnosticReport/r-1'],
      },
      new Date('2026-12-02T01:00:00Z'),
    )
    expect(resource).toMatchObject({
      resourceType: 'ServiceRequest',
      status: 'active',
      intent: 'order',
      priority: 'urgent',
      performer: [{ reference: 'Organization/jhzx' }],
      reasonCode: [{ text: '急性胸痛' }],
      supportingInfo: [{ reference: 'DiagnosticReport/r-1' }],
      authoredOn: '2026-12-02T01:00:00.000Z',
    })
    expect(resource).not.toHaveProperty('performerType')
    expect(JSON.stringify(resource.category)).toContain('3457005')
  })
})
