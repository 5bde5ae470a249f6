// Calipers (测量尺): two marks on the leads, each a sample of the recording — not a pixel — so
// Δt is the samples apart times the period and ΔV the difference of their potentials.
import type { Sheet, Trace } from './paper'

export interface Mark {
  term: number
  rhythm: boolean
  index: number
}

export interface Measured {
  /** Milliseconds between the marks (always ≥ 0). */
  dtMs: number
  /** The second mark's potential minus the first's, in mV. */
  dvMv: number
  /** 60000 / Δt beats a minute; null when the marks are at the same moment. */
  rateBpm: number | null
}

export function traceOf(drawn: Sheet, mark: Mark): Trace | undefined {
  return drawn.traces.find(
    (trace) =>
      trace.lead.term === mark.term &&
      trace.rhythm === mark.rhythm &&
      mark.index >= trace.first &&
      mark.index < trace.end,
  )
}

export function markOf(trace: Trace, index: number): Mark {
  return { term: trace.lead.term, rhythm: trace.rhythm, index }
}

/** What two marks measure, from the traces' samples (the marks may be on different leads:
 * every lead was recorded at the same moments). */
export function measure(drawn: Sheet, first: Mark, second: Mark): Measured | null {
  const [a, b] = [traceOf(drawn, first), traceOf(drawn, second)]
  if (!a || !b) return null
  const dtMs = Math.abs(second.index - first.index) * drawn.periodMs
  const dvMv = (b.lead.microvolts[second.index] - a.lead.microvolts[first.index]) / 1000
  return { dtMs, dvMv, rateBpm: dtMs > 0 ? 60_000 / dtMs : null }
}

/** The marks after a click at ``mark``: a first, a second, then a new first. */
export function placed(marks: Mark[], mark: Mark): Mark[] {
  return marks.length >= 2 ? [mark] : [...marks, mark]
}
