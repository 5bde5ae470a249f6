import { describe, expect, it } from 'vitest'

import { microvoltsOf, recordingOf } from './recording'
import { rawSample, testObservation } from './testRecording'

describe('an ECG Observation read', () => {
  it('gives each lead in µV: origin + factor × sample', () => {
    const recording = recordingOf(testObservation())!
    expect(recording.periodMs).toBe(2)
    expect(recording.leads.map((lead) => lead.label)).toEqual(
      ['I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'],
    )
    expect(recording.leads[1].microvolts[125]).toBe(rawSample(2, 125) * 2.5)
    expect(recording.statements).toEqual(['窦性心律'])
  })

  it('leaves out a lead whose data are not all numbers, or at another period', () => {
    expect(microvoltsOf({ origin: { value: 10 }, period: 1, factor: 2, dimensions: 1, data: '1 E 3' })).toBeNull()
    const observation = testObservation()
    observation.component![1].valueSampledData!.data = '1 U 2'
    observation.component![3].valueSampledData!.period = 1
    const labels = recordingOf(observation)!.leads.map((lead) => lead.label)
    expect(labels.slice(0, 2)).toEqual(['II', 'aVR']) // I unreadable, III at 1 ms
    expect(recordingOf({ ...observation, component: [] })).toBeNull()
  })
})
