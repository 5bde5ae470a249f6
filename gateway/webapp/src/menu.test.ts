import { describe, expect, it } from 'vitest'

import { menuFor } from './menu'
import { PAGES } from './pages'

const names = (roles: string[]) => menuFor(roles, PAGES).map((page) => page.name)

describe('menu by role', () => {
  it('gives readers their worklist, the studies and the specimens, not the sign-off', () => {
    expect(names(['reader'])).toEqual(['home', 'worklist', 'studies', 'specimens'])
  })

  it('gives senior readers the sign-off too', () => {
    expect(names(['senior_reader'])).toEqual(['home', 'worklist', 'verify', 'studies', 'specimens'])
  })

  it('gives clinicians and heads the clinic pages, clinicians their requests, heads the figures', () => {
    expect(names(['clinician'])).toEqual([
      'home', 'studies', 'orders', 'recognition', 'booking', 'specimens', 'critical', 'referrals', 'lab',
    ])
    expect(names(['head'])).toEqual([
      'home', 'studies', 'booking', 'specimens', 'critical', 'referrals', 'lab', 'indicators', 'settlement',
    ])
  })

  it('lists no page reached only from another (one Task report)', () => {
    expect(names(['reader'])).not.toContain('reading')
    expect(PAGES.map((page) => page.name)).toContain('reading')
  })

  it('gives administrators the indicators, the settlement and the administration', () => {
    expect(names(['admin'])).toEqual(['home', 'indicators', 'settlement', 'admin'])
  })

  it('joins the pages of several roles once each', () => {
    expect(names(['reader', 'senior_reader'])).toEqual(['home', 'worklist', 'verify', 'studies', 'specimens'])
  })

  it('shows someone without a known role only the home page', () => {
    expect(names([])).toEqual(['home'])
  })

  it('has unique route names and paths', () => {
    expect(new Set(PAGES.map((page) => page.name)).size).toBe(PAGES.length)
    expect(new Set(PAGES.map((page) => page.path)).size).toBe(PAGES.length)
  })
})
