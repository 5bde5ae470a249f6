import { describe, expect, it } from 'vitest'

import type { DiagnosticReport, ServiceRequest } from '../reading/model'
import {
  fieldsOf,
  GROSS_URL,
  ihcResultsOf,
  isPathologyOrder,
  MARKER_SYSTEM,
  MICROSCOPIC_URL,
  newRow,
  pathologyReport,
  PERCENT,
  RESULT_SYSTEM,
  supplemented,
  supplementsOf,
  SUPPLEMENT_URL,
  type PathologyFields,
} from './report'

const fields: PathologyFields = {
  gross: ' 灰白色组织3块，全部取材。 ',
  microscopic: '胃黏膜内见异型腺体浸润性生长。',
  diagnosis: '（胃窦）中分化腺癌。',
  ihc: [
    { id: 'ihc1', marker: 'CK', result: 'positive', percent: null, specimen: 'sp1' },
    { id: 'ihc2', marker: 'Ki-67', result: PERCENT, percent: 60, specimen: 'sp1' },
  ],
}

describe('a pathology report to and from FHIR', () => {
  it('writes the sections as extensions, the diagnosis as conclusion, IHC as contained Observations', () => {
    const written = pathologyReport(fields)
    expect(written.extension).toEqual([
      { url: GROSS_URL, valueString: '灰白色组织3块，全部取材。' },
      { url: MICROSCOPIC_URL, valueString: '胃黏膜内见异型腺体浸润性生长。' },
    ])
    expect(written.conclusion).toBe('（胃窦）中分化腺癌。')
    expect(written.contained).toEqual([
      {
        resourceType: 'Observation',
        id: 'ihc1',
        status: 'preliminary',
        code: { coding: [{ system: MARKER_SYSTEM, code: 'CK' }], text: 'CK' },
        specimen: { reference: 'Specimen/sp1' },
        valueCodeableConcept: { coding: [{ system: RESULT_SYSTEM, code: 'positive' }] },
      },
      {
        resourceType: 'Observation',
        id: 'ihc2',
        status: 'preliminary',
        code: { coding: [{ system: MARKER_SYSTEM, code: 'Ki-67' }], text: 'Ki-67' },
        specimen: { reference: 'Specimen/sp1' },
        valueQuantity: { value: 60, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
      },
    ])
  })

  it('leaves an empty section out', () => {
    expect(pathologyReport({ ...fields, gross: '  ', microscopic: '' }).extension).toEqual([])
  })

  it('reads back what it wrote (the server adds display and status)', () => {
    const report: DiagnosticReport = { resourceType: 'DiagnosticReport', id: 'r1', status: 'final', ...pathologyReport(fields) }
    expect(fieldsOf(report)).toEqual({ ...fields, gross: '灰白色组织3块，全部取材。' })
    expect(fieldsOf(undefined)).toEqual({ gross: '', microscopic: '', diagnosis: '', ihc: [] })
  })

  it('knows a pathology order by its exam category', () => {
    const order = (code: string): ServiceRequest => ({
      resourceType: 'ServiceRequest',
      id: 'o1',
      category: [{ coding: [{ system: 'http://yilian.example/fhir/CodeSystem/exam-category', code }] }],
    })
    expect(isPathologyOrder(order('pathology'))).toBe(true)
    expect(isPathologyOrder(order('ecg'))).toBe(false)
  })

  it('gives a new row an id no result has', () => {
    expect(newRow(fields.ihc, 'sp1')).toEqual({ id: 'ihc3', marker: '', result: '', percent: null, specimen: 'sp1' })
    expect(newRow([]).id).toBe('ihc1')
  })
})

describe('a supplementary report (补充报告)', () => {
  const released: DiagnosticReport = {
    resourceType: 'DiagnosticReport',
    id: 'r1',
    status: 'final',
    meta: { lastUpdated: '2026-12-03T01:00:00Z' },
    presentedForm: [{ contentType: 'application/pdf', data: 'JVBER' }],
    ...pathologyReport(fields),
  }

  it('keeps everything said, adds one supplement and the new results', () => {
    const her2 = { id: 'ihc3', marker: 'HER2', result: 'score-2', percent: null, specimen: 'sp1' }
    const given = supplemented(released, ' HER2(2+)，建议行FISH检测。 ', [her2])
    expect(given).not.toHaveProperty('meta')
    expect(given).not.toHaveProperty('presentedForm')
    expect(given.conclusion).toBe(released.conclusion)
    expect(given.extension?.slice(0, 2)).toEqual(released.extension)
    expect(given.extension?.[2]).toEqual({
      url: SUPPLEMENT_URL,
      extension: [{ url: 'text', valueString: 'HER2(2+)，建议行FISH检测。' }],
    })
    expect(ihcResultsOf(given).map((o) => o.id)).toEqual(['ihc1', 'ihc2', 'ihc3'])
    expect(ihcResultsOf(given)[2].valueCodeableConcept?.coding?.[0].code).toBe('score-2')
  })

  it('reads the supplements the server stamped', () => {
    const stamped: DiagnosticReport = {
      ...released,
      extension: [
        {
          url: SUPPLEMENT_URL,
          extension: [
            { url: 'text', valueString: 'HER2(2+)' },
            { url: 'time', valueDateTime: '2026-12-05T02:00:00Z' },
            { url: 'by', valueReference: { reference: 'Practitioner/chenjing', display: '陈静' } },
          ],
        },
      ],
    }
    expect(supplementsOf(stamped)).toEqual([{ time: '2026-12-05T02:00:00Z', text: 'HER2(2+)', by: '陈静' }])
    expect(supplementsOf(released)).toEqual([])
  })
})
