import { describe, expect, it } from 'vitest'

import { markOf, measure, placed } from './calipers'
import { sheet } from './paper'
import { recordingOf } from './recording'
import { rawSample, testObservation } from './testRecording'

const drawn = sheet(recordingOf(testObservation())!, 25, 10)
const strip = drawn.traces[12] // lead II, the second lead sent (n = 2)

describe('calipers', () => {
  it('measure time and potential from the samples the marks are on', () => {
    const measured = measure(drawn, markOf(strip, 125), markOf(strip, 500))!
    expect(measured.dtMs).toBe(750)
    expect(measured.dvMv).toBeCloseTo(((rawSample(2, 500) - rawSample(2, 125)) * 2.5) / 1000)
    expect(measured.rateBpm).toBeCloseTo(80)
  })

  it('give Δt whichever mark comes first, and no rate for the same moment', () => {
    expect(measure(drawn, markOf(strip, 500), markOf(strip, 125))!.dtMs).toBe(750)
    expect(measure(drawn, markOf(strip, 10), markOf(strip, 10))!.rateBpm).toBeNull()
  })

  it('measure between two leads at their own potentials', () => {
    const lead = drawn.traces[0] // I, n = 1
    const measured = measure(drawn, markOf(lead, 100), markOf(strip, 200))!
    expect(measured.dtMs).toBe(200)
    expect(measured.dvMv).toBeCloseTo(((rawSample(2, 200) - rawSample(1, 100)) * 2.5) / 1000)
  })

  it('start again at the third click', () => {
    const [a, b, c] = [1, 2, 3].map((i) => markOf(strip, i))
    expect(placed([], a)).toEqual([a])
    expect(placed([a], b)).toEqual([a, b])
    expect(placed([a, b], c)).toEqual([c])
  })

  it('keep their marks when the speed or gain changes', () => {
    const slow = sheet(recordingOf(testObservation())!, 50, 20)
    const marks = [markOf(strip, 125), markOf(strip, 500)]
    expect(measure(slow, marks[0], marks[1])).toEqual(measure(drawn, marks[0], marks[1]))
  })
})
