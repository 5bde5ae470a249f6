// A 12-lead Observation for the tests, shaped as the gateway serves one: 500 Hz, 10 s, each
// lead a sine of its own (sample k of lead n is round(100·n·sin(2π·t)) + n, factor 2.5 µV).
import { ECG_POTENTIAL, MDC, type EcgObservation } from './recording'

export const TERMS = [1, 2, 61, 62, 63, 64, 3, 4, 5, 6, 7, 8]

export function rawSample(n: number, k: number): number {
  return Math.round(100 * n * Math.sin((2 * Math.PI * k) / 500)) + n
}

export function testObservation(): EcgObservation {
  return {
    resourceType: 'Observation',
    id: 'ecg-1',
    status: 'final',
    code: { coding: [{ system: MDC, code: String(ECG_POTENTIAL) }] },
    note: [{ text: '窦性心律' }],
    component: [
      {
        code: { coding: [{ system: MDC, code: '147842' }, { system: 'http://loinc.org', code: '8867-4' }] },
        valueQuantity: { value: 72, unit: '/min' },
      },
      ...TERMS.map((term, n) => ({
        code: { coding: [{ system: MDC, code: String(ECG_POTENTIAL + term) }] },
        valueSampledData: {
          origin: { value: 0, unit: 'uV' },
          period: 2,
          factor: 2.5,
          dimensions: 1,
          data: Array.from({ length: 5000 }, (_, k) => rawSample(n + 1, k)).join(' '),
        },
      })),
    ],
  }
}
