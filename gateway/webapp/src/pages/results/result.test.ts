import { describe, expect, it } from 'vitest'

import { ApiError } from '../../api/client'
import { MARK_EXTENSION, MARK_TAG, issuerOf, markOf, obtainedOf, refusalOf, studyUidsOf, type PriorResult } from './result'

// A verified head CT report as the gateway serves it (gateway/workflow/reading_report.py).
const report: PriorResult = {
  resourceType: 'DiagnosticReport',
  id: 'r1',
  status: 'final',
  extension: [{ url: MARK_EXTENSION, valueString: '金HR' }],
  performer: [
    { reference: 'Practitioner/wangjian', display: '王健' },
    { reference: 'Organization/jhzx', display: '金华市中心医院' },
  ],
  effectiveDateTime: '2026-11-28T09:30:00+08:00',
  issued: '2026-11-28T11:00:00+08:00',
  imagingStudy: [{ reference: 'ImagingStudy/1.2.840.113619.2.1' }],
}

const potassium: PriorResult = {
  resourceType: 'Observation',
  id: 'o1',
  status: 'final',
  meta: { tag: [{ system: MARK_TAG, code: '浙HR' }] },
  issued: '2026-11-30T08:00:00+08:00',
}

describe('a prior result', () => {
  it('carries its mark as the extension or the tag, or none', () => {
    expect(markOf(report)).toBe('金HR')
    expect(markOf(potassium)).toBe('浙HR')
    expect(markOf({ ...potassium, meta: {} })).toBe('')
    expect(markOf(null)).toBe('')
  })

  it('was issued by its performing organization, obtained at the exam else when issued', () => {
    expect(issuerOf(report)).toEqual({ reference: 'Organization/jhzx', display: '金华市中心医院' })
    expect(obtainedOf(report)).toBe('2026-11-28T09:30:00+08:00')
    expect(obtainedOf(potassium)).toBe('2026-11-30T08:00:00+08:00')
  })

  it("opens a report's studies by their UIDs; a lab result has none", () => {
    expect(studyUidsOf(report)).toEqual(['1.2.840.113619.2.1'])
    expect(studyUidsOf(potassium)).toEqual([])
  })

  it('says whether the server refused it, does not show it, or failed', () => {
    expect(refusalOf(new ApiError(403, 'forbidden'))).toEqual({ kind: 'forbidden' })
    expect(refusalOf(new ApiError(404, 'DiagnosticReport/x is not known'))).toEqual({ kind: 'notFound' })
    expect(refusalOf(new ApiError(503, 'audit unavailable'))).toEqual({ kind: 'failed', reason: 'audit unavailable' })
  })
})
