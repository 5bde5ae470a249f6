import { describe, expect, it } from 'vitest'

import { cellOf, gridPaths, pointOf, pulsePath, sampleAt, sheet, TOP, traceAt, tracePoints } from './paper'
import { recordingOf } from './recording'
import { testObservation } from './testRecording'

const recording = recordingOf(testObservation())!

describe('the ECG paper', () => {
  it('lays the leads out 3 × 4, 2.5 s each, with a 10 s lead II rhythm strip', () => {
    const drawn = sheet(recording, 25, 10)
    expect(drawn.traces.map((t) => t.lead.label)).toEqual(
      ['I', 'aVR', 'V1', 'V4', 'II', 'aVL', 'V2', 'V5', 'III', 'aVF', 'V3', 'V6', 'II'],
    )
    const v4 = drawn.traces[3]
    expect([v4.first, v4.end, v4.x0]).toEqual([3750, 5000, 10 + 3 * 62.5])
    const strip = drawn.traces[12]
    expect([strip.rhythm, strip.first, strip.end]).toEqual([true, 0, 5000])
    expect(drawn.width).toBe(10 + 250 + 5)
    expect(drawn.height).toBe(TOP + 160)
  })

  it('puts a second 25 mm and a millivolt 10 mm away at standard speed and gain', () => {
    const drawn = sheet(recording, 25, 10)
    const lead = drawn.traces[12]
    const [a, b] = [pointOf(drawn, lead, 0), pointOf(drawn, lead, 500)]
    expect(b.x - a.x).toBeCloseTo(25)
    const microvolts = lead.lead.microvolts
    expect(a.y - b.y).toBeCloseTo(((microvolts[500] - microvolts[0]) / 1000) * 10)
  })

  it('scales with the chosen speed and gain', () => {
    const fast = sheet(recording, 50, 20)
    expect(fast.cell).toBe(125)
    expect(fast.row).toBe(80)
    const lead = fast.traces[12]
    expect(pointOf(fast, lead, 250).x - pointOf(fast, lead, 0).x).toBeCloseTo(25)
    expect(pulsePath(fast, 100)).toBe('M2 100H3V80H13V100H14')
    expect(fast.traces[0].x0).toBe(15) // after the wider pulse
    expect(pulsePath(sheet(recording, 25, 5), 50)).toBe('M2 50H3V45H8V50H9')
  })

  it('draws a grid line every millimetre, every fifth major', () => {
    const drawn = sheet(recording, 25, 10)
    const { minor, major } = gridPaths(drawn)
    const count = (path: string) => (path.match(/M/g) ?? []).length
    expect(count(major)).toBe(Math.floor(drawn.width / 5) + 1 + 160 / 5 + 1)
    expect(count(minor) + count(major)).toBe(Math.floor(drawn.width) + 1 + 161)
    expect(major).toContain(`M0 ${TOP + 5}H${drawn.width}`)
  })

  it('draws at most 500 points a second', () => {
    const drawn = sheet(recording, 25, 10)
    expect(tracePoints(drawn, drawn.traces[0]).split(' ')).toHaveLength(1250)
  })

  it('reads a click back as the sample under it', () => {
    const drawn = sheet(recording, 25, 10)
    const aVR = drawn.traces[1]
    const { x, y } = pointOf(drawn, aVR, 1700)
    expect(traceAt(drawn, x, y)).toBe(aVR)
    expect(sampleAt(drawn, aVR, x)).toBe(1700)
    expect(sampleAt(drawn, aVR, x + 0.02)).toBe(1700) // nearer to it than to the next
    expect(sampleAt(drawn, aVR, x + 0.04)).toBe(1701)
    expect(sampleAt(drawn, aVR, 0)).toBe(aVR.first) // held to its column
    const cell = cellOf(drawn, aVR)
    expect(traceAt(drawn, cell.x + 1, cell.y - 1)).toBeUndefined() // the header
  })
})
