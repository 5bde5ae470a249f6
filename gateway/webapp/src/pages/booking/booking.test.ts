import { describe, expect, it } from 'vitest'

import { bookable, mondayOf, POOL, slotsByDay, weekDays, type Slot } from './booking'

const MEMBERS = [{ coding: [{ system: POOL, code: 'members' }] }]

function slot(id: string, start: string, extra: Partial<Slot> = {}): Slot {
  return {
    resourceType: 'Slot',
    id,
    schedule: { reference: 'Schedule/ct' },
    status: 'free',
    start,
    end: start,
    ...extra,
  }
}

describe('the booking week', () => {
  it('starts on the Monday of the alliance-time week, even late on a Sunday in UTC terms', () => {
    // 2026-12-06 is a Sunday; 17:00 UTC that day is already Monday 01:00 in Beijing.
    expect(mondayOf(Date.parse('2026-12-06T15:59:00Z'))).toBe('2026-11-30')
    expect(mondayOf(Date.parse('2026-12-06T16:00:00Z'))).toBe('2026-12-07')
    expect(weekDays('2026-11-30')).toEqual([
      '2026-11-30', '2026-12-01', '2026-12-02', '2026-12-03', '2026-12-04', '2026-12-05', '2026-12-06',
    ])
  })

  it('puts slots under their local day, in time order', () => {
    const days = slotsByDay([
      slot('b', '2026-12-01T08:30:00+08:00'),
      slot('a', '2026-12-01T08:00:00+08:00'),
      slot('c', '2026-12-02T07:30:00+08:00'),
    ])
    expect(days.get('2026-12-01')?.map((s) => s.id)).toEqual(['a', 'b'])
    expect(days.get('2026-12-02')?.map((s) => s.id)).toEqual(['c'])
  })

  it('offers members the reserved share only, the centre all its free future slots', () => {
    const now = Date.parse('2026-12-01T00:00:00Z')
    const reserved = slot('m', '2026-12-02T08:00:00+08:00', { serviceCategory: MEMBERS })
    const own = slot('o', '2026-12-02T08:30:00+08:00')
    const taken = slot('t', '2026-12-02T09:00:00+08:00', { status: 'busy', serviceCategory: MEMBERS })
    const begun = slot('p', '2026-11-30T09:00:00+08:00', { serviceCategory: MEMBERS })
    expect([reserved, own, taken, begun].map((s) => bookable(s, false, now))).toEqual([true, false, false, false])
    expect([reserved, own, taken, begun].map((s) => bookable(s, true, now))).toEqual([true, true, false, false])
  })
})
