import { describe, expect, it } from 'vitest'

import {
  actionsFor,
  numberOf,
  ofOrder,
  rejectionOf,
  REJECTION_URL,
  siteOf,
  stepTag,
  TRACKING_URL,
  trackingOf,
  type Specimen,
} from './specimens'

// As gateway/workflow/specimens.py writes a rejected specimen.
const rejected: Specimen = {
  resourceType: 'Specimen',
  id: 'sp2',
  status: 'unsatisfactory',
  accessionIdentifier: { system: 'urn:oid:2.16.156.10011.1.14', value: 'BL261202000002' },
  request: [{ reference: 'ServiceRequest/o1' }],
  collection: {
    collectedDateTime: '2026-12-02T09:10:00+08:00',
    bodySite: { text: '切缘' },
    quantity: { value: 1, unit: '块' },
  },
  extension: [
    {
      url: TRACKING_URL,
      extension: [
        { url: 'step', valueCoding: { code: 'rejected', display: '已拒收' } },
        { url: 'time', valueDateTime: '2026-12-02T02:30:00Z' },
        { url: 'by', valueReference: { reference: 'Practitioner/wanglei' } },
      ],
    },
    {
      url: REJECTION_URL,
      valueCodeableConcept: {
        coding: [{ code: 'insufficient-fixative', display: '固定液不足' }],
        text: '固定液不足：固定液量不足标本体积的3倍',
      },
    },
  ],
}

describe('where a specimen is', () => {
  it('reads the tracking step, its time and who, and the rejection reason as worded', () => {
    expect(trackingOf(rejected)).toEqual({
      step: 'rejected',
      at: '2026-12-02T02:30:00Z',
      by: 'Practitioner/wanglei',
    })
    expect(rejectionOf(rejected)).toBe('固定液不足：固定液量不足标本体积的3倍')
    expect(stepTag('rejected')).toBe('danger')
    expect(numberOf(rejected)).toBe('BL261202000002')
    expect(siteOf(rejected)).toEqual({ site: '切缘', pieces: 1 })
  })

  it('is labelled when nothing says otherwise, with no reason', () => {
    const fresh: Specimen = { resourceType: 'Specimen', id: 'sp1' }
    expect(trackingOf(fresh)).toEqual({ step: 'labelled', at: '', by: '' })
    expect(rejectionOf(fresh)).toBe('')
    expect(siteOf(fresh)).toEqual({ site: '', pieces: null })
  })

  it('falls back to the coded display when the reason has no text', () => {
    const coded = { ...rejected, extension: [{ url: REJECTION_URL, valueCodeableConcept: { coding: [{ display: '容器破损' }] } }] }
    expect(rejectionOf(coded)).toBe('容器破损')
  })

  it('keeps the specimens of one order', () => {
    const other = { ...rejected, id: 'sp3', request: [{ reference: 'ServiceRequest/o2' }] }
    expect(ofOrder([rejected, other], 'o1').map((s) => s.id)).toEqual(['sp2'])
  })
})

describe('the steps a row offers (hints; the server decides)', () => {
  it('lets the sender send what it labelled, and nothing else', () => {
    expect(actionsFor('labelled', true, false)).toEqual(['send'])
    expect(actionsFor('sent', true, false)).toEqual([])
    expect(actionsFor('labelled', true, true)).toEqual(['send']) // a centre's own specimens
  })

  it("offers the centre's readers to sign for, accept or reject in turn", () => {
    expect(actionsFor('sent', false, true)).toEqual(['receive', 'reject'])
    expect(actionsFor('received', false, true)).toEqual(['accept', 'reject'])
    expect(actionsFor('accepted', false, true)).toEqual([])
    expect(actionsFor('rejected', false, true)).toEqual([])
    expect(actionsFor('received', false, false)).toEqual([]) // a clinician elsewhere
  })
})
