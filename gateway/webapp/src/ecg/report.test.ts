import { describe, expect, it } from 'vitest'

import type { DiagnosticReport } from '../reading/model'
import type { CodeSystem } from '../api/terminology'
import { CONCLUSION_SYSTEM, conclusionsOf, ecgReport, fieldsOf, isEcgOrder, type EcgFields } from './report'
import { MDC, type EcgObservation } from './recording'

const SNOMED = 'http://snomed.info/sct'
const LOINC = 'http://loinc.org'

// Two concepts as gateway/ecg/conclusions.py publishes them.
const CODE_SYSTEM: CodeSystem = {
  resourceType: 'CodeSystem',
  id: 'ecg-conclusion',
  url: CONCLUSION_SYSTEM,
  concept: [
    {
      code: 'sinus-rhythm',
      display: '窦性心律',
      designation: [{ language: 'en', value: 'Sinus rhythm' }],
      property: [
        { code: 'snomed', valueCoding: { system: SNOMED, code: '426783006', display: 'Sinus rhythm' } },
        { code: 'critical', valueBoolean: false },
        { code: 'rhythm', valueBoolean: true },
      ],
    },
    {
      code: 'normal-ecg',
      display: '正常心电图',
      designation: [{ language: 'en', value: 'Normal ECG' }],
      property: [
        { code: 'critical', valueBoolean: false },
        { code: 'rhythm', valueBoolean: false },
      ],
    },
  ],
}
const CONCLUSIONS = conclusionsOf(CODE_SYSTEM)

function device(figures: Record<string, number>): EcgObservation {
  return {
    resourceType: 'Observation',
    id: 'ecg-1',
    status: 'final',
    component: Object.entries(figures).map(([mdc, value]) => ({
      code: { coding: [{ system: MDC, code: mdc }] },
      valueQuantity: { value, unit: 'ms' },
    })),
  }
}

describe('an ECG report’s fields', () => {
  it('are for the orders of the ECG category', () => {
    const order = (code: string) => ({
      resourceType: 'ServiceRequest' as const,
      id: 'o',
      category: [{ coding: [{ system: 'http://yilian.example/fhir/CodeSystem/exam-category', code }] }],
    })
    expect(isEcgOrder(order('ecg'))).toBe(true)
    expect(isEcgOrder(order('imaging'))).toBe(false)
    expect(isEcgOrder(undefined)).toBe(false)
  })

  it('read the published conclusions with their SNOMED CT coding and kind', () => {
    expect(CONCLUSIONS[0]).toEqual({
      code: 'sinus-rhythm', display: '窦性心律', displayEn: 'Sinus rhythm',
      snomed: { system: SNOMED, code: '426783006', display: 'Sinus rhythm' },
      critical: false, rhythm: true,
    })
    expect(CONCLUSIONS[1].snomed).toBeUndefined()
  })

  it('are prefilled from the device’s figures, the first recording that has each', () => {
    const fields = fieldsOf(undefined, [device({ 146944: 152, 147842: 72 }), device({ 146944: 160, 147228: 88 })])
    expect(fields).toEqual({
      rhythm: '',
      figures: { rate: 72, axis: null, pr: 152, qrs: 88, qt: null, qtc: null },
      conclusions: [],
    })
  })

  it('go into conclusionCode and one contained Observation as the server reads them', () => {
    const fields: EcgFields = {
      rhythm: 'sinus-rhythm',
      figures: { rate: 75, axis: 30, pr: 152, qrs: null, qt: 380, qtc: 402 },
      conclusions: ['sinus-rhythm', 'normal-ecg'],
    }
    const written = ecgReport(fields, CONCLUSIONS)
    expect(written.conclusionCode).toEqual([
      {
        coding: [
          { system: CONCLUSION_SYSTEM, code: 'sinus-rhythm', display: '窦性心律' },
          { system: SNOMED, code: '426783006', display: 'Sinus rhythm' },
        ],
        text: '窦性心律',
      },
      { coding: [{ system: CONCLUSION_SYSTEM, code: 'normal-ecg', display: '正常心电图' }], text: '正常心电图' },
    ])
    const [measured] = written.contained as EcgObservation[]
    expect(measured.id).toBe('measurements')
    const [rhythm, rate, axis] = measured.component!
    expect(rhythm.code.coding).toEqual([{ system: LOINC, code: '8884-9', display: 'Heart rate rhythm' }])
    expect(rhythm.valueCodeableConcept?.text).toBe('窦性心律')
    expect(rate.code.coding).toContainEqual({ system: LOINC, code: '8867-4' })
    expect(rate.valueQuantity).toEqual({ value: 75, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' })
    expect(axis.valueQuantity?.code).toBe('deg')
    expect(measured.component!.map((c) => c.code.text)).toEqual(['心律', 'rate', 'axis', 'pr', 'qt', 'qtc'])
  })

  it('read back what was written, before the device’s figures', () => {
    const fields: EcgFields = {
      rhythm: 'sinus-rhythm',
      figures: { rate: 75, axis: 30, pr: 152, qrs: 90, qt: 380, qtc: 402 },
      conclusions: ['normal-ecg'],
    }
    const report = { resourceType: 'DiagnosticReport', id: 'r', status: 'preliminary', ...ecgReport(fields, CONCLUSIONS) }
    expect(fieldsOf(report as DiagnosticReport, [device({ 147842: 60 })])).toEqual(fields)
  })

  it('send no measurements when there are none, and keep a code it does not know for the server to refuse', () => {
    const fields: EcgFields = {
      rhythm: '',
      figures: { rate: null, axis: null, pr: null, qrs: null, qt: null, qtc: null },
      conclusions: ['no-such'],
    }
    expect(ecgReport(fields, CONCLUSIONS)).toEqual({
      conclusionCode: [{ coding: [{ system: CONCLUSION_SYSTEM, code: 'no-such' }] }],
      contained: [],
    })
  })
})
