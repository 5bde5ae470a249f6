// A 12-lead ECG on standard paper, in millimetres, as the server's chart lays it out
// (gateway/ecg/chart.py): the leads 3 × 4 — each column 2.5 s of the same moment: I II III,
// aVR aVL aVF, V1 V2 V3, V4 V5 V6 — a lead II rhythm strip under them, a 1 mV calibration
// pulse at each row's start, 1 mm and 5 mm grid lines.  Speed (mm/s) and gain (mm/mV) are the
// reader's choice.  Pure functions: the view draws this and maps a click back to a sample.
import type { Lead, Recording } from './recording'

export const SPEEDS = [25, 50] as const
export const GAINS = [5, 10, 20] as const
export type Speed = (typeof SPEEDS)[number]
export type Gain = (typeof GAINS)[number]

export const CELL_SECONDS = 2.5
const LAYOUT = [
  [1, 62, 3, 6],
  [2, 63, 4, 7],
  [61, 64, 5, 8],
] // MDC lead terms, row by row
const RHYTHM_LEAD = 2 // II
export const TOP = 12 // mm: speed and gain printed above the grid
const RIGHT = 5
const MIN_POINT_MS = 2 // at most 500 points a second are drawn

export interface Trace {
  lead: Lead
  rhythm: boolean
  /** The first sample drawn and the one after the last. */
  first: number
  end: number
  /** Where the first sample is (mm) and the row's 0 mV line (mm, down the page). */
  x0: number
  baseline: number
}

export interface Sheet {
  speed: number
  left: number // mm: the calibration pulse's margin, before the leads
  gain: number
  periodMs: number
  row: number // mm: the height of a row
  cell: number // mm: the width of a column
  width: number
  height: number
  traces: Trace[]
  baselines: number[]
}

/** The margin that holds the calibration pulse (200 ms wide) and a millimetre either side;
 * 10 mm at 25 mm/s, as on the server's chart. */
export function marginOf(speed: number): number {
  return 5 + 0.2 * speed
}

export function rowHeight(gain: number): number {
  return Math.max(20, 4 * gain)
}

/** The sheet of a recording at a speed and gain. */
export function sheet(recording: Recording, speed: number, gain: number): Sheet {
  const row = rowHeight(gain)
  const left = marginOf(speed)
  const cell = CELL_SECONDS * speed
  const perCell = Math.round((CELL_SECONDS * 1000) / recording.periodMs)
  const baselines = [0, 1, 2, 3].map((r) => TOP + row * r + row / 2)
  const traces: Trace[] = []
  const trace = (lead: Lead, column: number, columns: number, baseline: number, rhythm: boolean) => {
    const first = column * perCell
    const end = Math.min(lead.microvolts.length, first + columns * perCell)
    if (first < end) traces.push({ lead, rhythm, first, end, x0: left + column * cell, baseline })
  }
  const byTerm = new Map(recording.leads.map((lead) => [lead.term, lead]))
  LAYOUT.forEach((terms, r) =>
    terms.forEach((term, column) => {
      const lead = byTerm.get(term)
      if (lead) trace(lead, column, 1, baselines[r], false)
    }),
  )
  const rhythm = byTerm.get(RHYTHM_LEAD) ?? recording.leads[0]
  if (rhythm) trace(rhythm, 0, 4, baselines[3], true)
  return {
    speed,
    left,
    gain,
    periodMs: recording.periodMs,
    row,
    cell,
    width: left + 4 * cell + RIGHT,
    height: TOP + 4 * row,
    traces,
    baselines,
  }
}

/** Where sample ``index`` of a trace is drawn (mm). */
export function pointOf(drawn: Sheet, trace: Trace, index: number): { x: number; y: number } {
  const seconds = ((index - trace.first) * drawn.periodMs) / 1000
  return {
    x: trace.x0 + seconds * drawn.speed,
    y: trace.baseline - (trace.lead.microvolts[index] / 1000) * drawn.gain,
  }
}

/** The SVG polyline points of a trace, at most 500 a second. */
export function tracePoints(drawn: Sheet, trace: Trace): string {
  const step = Math.max(1, Math.round(MIN_POINT_MS / drawn.periodMs))
  const points: string[] = []
  for (let i = trace.first; i < trace.end; i += step) {
    const { x, y } = pointOf(drawn, trace, i)
    points.push(`${x.toFixed(2)},${y.toFixed(2)}`)
  }
  return points.join(' ')
}

/** The area a trace owns on the sheet (mm): its column and row. */
export function cellOf(drawn: Sheet, trace: Trace): { x: number; y: number; width: number; height: number } {
  const seconds = ((trace.end - trace.first) * drawn.periodMs) / 1000
  return {
    x: trace.x0,
    y: trace.baseline - drawn.row / 2,
    width: Math.max(seconds * drawn.speed, 0),
    height: drawn.row,
  }
}

/** The grid as two SVG paths: a line every millimetre, every fifth one major. */
export function gridPaths(drawn: Sheet): { minor: string; major: string } {
  const minor: string[] = []
  const major: string[] = []
  for (let x = 0; x <= Math.floor(drawn.width); x++) {
    ;(x % 5 === 0 ? major : minor).push(`M${x} ${TOP}V${drawn.height}`)
  }
  for (let y = 0; y <= Math.floor(drawn.height - TOP); y++) {
    ;(y % 5 === 0 ? major : minor).push(`M0 ${TOP + y}H${drawn.width}`)
  }
  return { minor: minor.join(''), major: major.join('') }
}

/** The calibration pulse at a row's start: 1 mV high, 200 ms wide at this speed and gain. */
export function pulsePath(drawn: Sheet, baseline: number): string {
  const high = baseline - drawn.gain
  const right = 3 + 0.2 * drawn.speed
  return `M2 ${baseline}H3V${high}H${right}V${baseline}H${right + 1}`
}

/** The sample of a trace nearest to ``x`` (mm) — what a click there reads. */
export function sampleAt(drawn: Sheet, trace: Trace, x: number): number {
  const index = Math.round(trace.first + ((x - trace.x0) / drawn.speed) * (1000 / drawn.periodMs))
  return Math.min(Math.max(index, trace.first), trace.end - 1)
}

/** The trace whose cell holds the point (mm), if any. */
export function traceAt(drawn: Sheet, x: number, y: number): Trace | undefined {
  return drawn.traces.find((trace) => {
    const cell = cellOf(drawn, trace)
    return x >= cell.x && x <= cell.x + cell.width && y >= cell.y && y <= cell.y + cell.height
  })
}
