import { describe, expect, it, vi } from 'vitest'

import { SESSION_PROPERTY, offerSessionToViewers, type ViewerSession } from './bridge'
import { openInViewer, viewerUrl } from './link'

describe('the viewer link', () => {
  it('names the studies in the query, encoded, never a token', () => {
    const url = viewerUrl(['1.2.840.1', '1.2.840.2'])
    expect(url).toBe('/viewer/viewer?StudyInstanceUIDs=1.2.840.1%2C1.2.840.2')
    expect(url).not.toMatch(/token/i)
  })

  it('opens one named viewer window without cutting it from its opener', () => {
    const open = vi.fn()
    openInViewer('1.2.3', open)
    expect(open).toHaveBeenCalledWith('/viewer/viewer?StudyInstanceUIDs=1.2.3', 'yilian-viewer')
  })
})

describe('the session offered to viewers', () => {
  it('answers the token current at each call (a refresh is seen at once)', () => {
    const target = {} as Window
    let token: string | null = 'first'
    offerSessionToViewers(target, () => token)
    const session = (target as unknown as Record<string, ViewerSession>)[SESSION_PROPERTY]
    expect(session.accessToken()).toBe('first')
    token = 'refreshed'
    expect(session.accessToken()).toBe('refreshed')
    token = null
    expect(session.accessToken()).toBeNull()
  })

  it('cannot be replaced by another script', () => {
    const target = {} as Window
    offerSessionToViewers(target, () => 'mine')
    expect(() => offerSessionToViewers(target, () => 'theirs')).toThrow()
    const session = (target as unknown as Record<string, ViewerSession>)[SESSION_PROPERTY]
    expect(session.accessToken()).toBe('mine')
  })
})
