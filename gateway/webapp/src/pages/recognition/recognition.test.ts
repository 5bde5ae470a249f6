import { describe, expect, it } from 'vitest'

import type { Bundle } from '../../api/fhir'
import type { Patient } from '../../reading/model'
import {
  ACTIONS,
  REASON_EXTENSION,
  decisionParameters,
  decisionsOf,
  offerOf,
  ordersOf,
  recognised,
  undecided,
  type DetectedIssue,
  type Order,
  type OrderRow,
} from './recognition'

const PROMPT = '有互认检查项目，请审阅并选择『互认』或『不互认』'

// As GET ServiceRequest/{id}/$recognizable-results answers (tests/integration/fhir/test_recognition.py).
const answer = {
  resourceType: 'Parameters' as const,
  parameter: [
    { name: 'count', valueInteger: 1 },
    { name: 'prompt', valueString: PROMPT },
    {
      name: 'prior',
      part: [
        { name: 'item', valueCoding: { code: 'hr-ct-head', display: '头颅CT平扫' } },
        { name: 'mark', valueString: '金HR' },
        { name: 'scope', valueCode: 'alliance' },
        { name: 'result', valueReference: { reference: 'DiagnosticReport/r1', display: '头颅CT平扫' } },
        { name: 'institution', valueReference: { reference: 'Organization/jhzx', display: '金华市中心医院' } },
        { name: 'obtained', valueDateTime: '2026-11-26T02:00:00Z' },
        { name: 'validUntil', valueDateTime: '2026-12-26T02:00:00Z' },
        { name: 'price', valueMoney: { value: 180, currency: 'CNY' } },
        { name: 'conclusion', valueString: '颅脑CT平扫未见明显异常。' },
      ],
    },
  ],
}

describe('offerOf', () => {
  it('reads the prompt and each prior of the answer', () => {
    const offer = offerOf(answer)
    expect(offer.prompt).toBe(PROMPT)
    expect(offer.priors).toEqual([
      {
        item: { code: 'hr-ct-head', display: '头颅CT平扫' },
        mark: '金HR',
        scope: 'alliance',
        result: { reference: 'DiagnosticReport/r1', display: '头颅CT平扫' },
        institution: { reference: 'Organization/jhzx', display: '金华市中心医院' },
        obtained: '2026-11-26T02:00:00Z',
        validUntil: '2026-12-26T02:00:00Z',
        price: { value: 180, currency: 'CNY' },
        conclusion: '颅脑CT平扫未见明显异常。',
      },
    ])
  })

  it('offers nothing when nothing is recognisable, and leaves out what the server left out', () => {
    expect(offerOf({ resourceType: 'Parameters', parameter: [{ name: 'count', valueInteger: 0 }] })).toEqual({
      prompt: '',
      priors: [],
    })
    const [prior] = offerOf({
      resourceType: 'Parameters',
      parameter: [{ name: 'prior', part: [{ name: 'mark', valueString: '浙HR' }] }],
    }).priors
    expect(prior.conclusion).toBe('')
    expect(prior.price).toBeNull()
  })
})

describe('ordersOf', () => {
  const order = (id: string, authoredOn: string, more: Partial<Order> = {}): Order => ({
    resourceType: 'ServiceRequest',
    id,
    authoredOn,
    subject: { reference: 'Patient/p' },
    ...more,
  })
  const patient: Patient = { resourceType: 'Patient', id: 'p', name: [{ text: '王小明' }] }
  const referral = { category: [{ coding: [{ system: 'http://snomed.info/sct', code: '3457005' }] }] }
  const bundle: Bundle = {
    resourceType: 'Bundle',
    entry: [
      order('old', '2026-12-01T08:00:00+08:00'),
      order('new', '2026-12-02T08:00:00+08:00'),
      order('referral', '2026-12-02T09:00:00+08:00', referral),
      patient,
    ].map((resource) => ({ resource })),
  }

  it('lists the examination orders newest first with their patients, not the referrals', () => {
    const orders = ordersOf(bundle)
    expect(orders.map((o) => o.order.id)).toEqual(['new', 'old'])
    expect(orders[0].patient?.name?.[0].text).toBe('王小明')
  })
})

describe('decisionsOf', () => {
  const issue = (id: string, order: string, mitigation: DetectedIssue['mitigation']): DetectedIssue => ({
    resourceType: 'DetectedIssue',
    id,
    implicated: [{ reference: order }, { reference: `DiagnosticReport/${id}` }],
    mitigation,
  })
  const told = { action: { coding: [{ system: ACTIONS, code: 'explained' }] } }

  it('reads the decision, its reason and words, and whether the patient was told', () => {
    const found = decisionsOf([
      issue('a', 'ServiceRequest/o1', [{ action: { coding: [{ system: ACTIONS, code: 'recognised' }] } }, told]),
      issue('b', 'ServiceRequest/o2', [
        {
          action: { coding: [{ system: ACTIONS, code: 'repeated' }], text: '病情变化；咯血加重' },
          extension: [
            {
              url: REASON_EXTENSION,
              valueCodeableConcept: { coding: [{ code: 'condition-changed' }], text: '咯血加重' },
            },
          ],
        },
      ]),
      issue('c', 'ServiceRequest/o3', [{ action: { coding: [{ system: 'other', code: 'recognised' }] } }]),
    ])
    expect(found).toEqual({
      'ServiceRequest/o1': {
        'DiagnosticReport/a': { decision: 'recognised', reason: null, text: null, explained: true },
      },
      'ServiceRequest/o2': {
        'DiagnosticReport/b': { decision: 'repeated', reason: 'condition-changed', text: '咯血加重', explained: false },
      },
    })
  })
})

describe('decisionParameters', () => {
  it('recognises with the prior and whether it was explained', () => {
    expect(decisionParameters('DiagnosticReport/r1', { decision: 'recognised', explained: true })).toEqual({
      resourceType: 'Parameters',
      parameter: [
        { name: 'prior', valueReference: { reference: 'DiagnosticReport/r1' } },
        { name: 'decision', valueCode: 'recognised' },
        { name: 'explained', valueBoolean: true },
      ],
    })
  })

  it('repeats with the reason and the words, leaving out empty words', () => {
    const repeat = (text: string) =>
      decisionParameters('Observation/k', { decision: 'repeated', reason: 'other', text, explained: false })
    expect(repeat('  患者外院复查  ').parameter).toContainEqual({ name: 'reasonText', valueString: '患者外院复查' })
    expect(repeat('  ').parameter?.map((p) => p.name)).toEqual(['prior', 'decision', 'reason', 'explained'])
  })
})

describe('recognised and undecided', () => {
  const offer = offerOf(answer)
  const row = (decision?: 'recognised' | 'repeated'): OrderRow => ({
    order: { resourceType: 'ServiceRequest', id: 'o' },
    patient: undefined,
    offer,
    failure: '',
    decisions: decision
      ? { 'DiagnosticReport/r1': { decision, reason: null, text: null, explained: false } }
      : {},
  })

  it('is recognised once a prior of the order was recognised', () => {
    expect(recognised(row('recognised'))).toBe(true)
    expect(recognised(row('repeated'))).toBe(false)
    expect(recognised(row())).toBe(false)
  })

  it('leaves something to decide while a prior of an open order has no decision', () => {
    expect(undecided(row())).toBe(true)
    expect(undecided(row('repeated'))).toBe(false)
    expect(undecided(row('recognised'))).toBe(false)
    expect(undecided({ ...row(), offer: { prompt: '', priors: [] } })).toBe(false)
  })
})
