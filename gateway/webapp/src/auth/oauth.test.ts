import { describe, expect, it } from 'vitest'

import { authorizeUrl, readCallback, refreshDelayMs, safeReturnPath } from './oauth'

const pending = { verifier: 'v', state: 'abc', returnTo: '/lab' }

describe('authorizeUrl', () => {
  it('asks for a code with an S256 challenge, for this app and this server', () => {
    const url = new URL(authorizeUrl('http://127.0.0.1:8080', 'CHALLENGE', 'abc', 'en'))
    expect(url.pathname).toBe('/auth/authorize')
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: 'code',
      client_id: 'yilian-web',
      redirect_uri: 'http://127.0.0.1:8080/app/callback',
      scope: 'openid fhirUser',
      state: 'abc',
      code_challenge: 'CHALLENGE',
      code_challenge_method: 'S256',
      aud: 'http://127.0.0.1:8080/fhir',
      ui_locales: 'en',
    })
  })
})

describe('readCallback', () => {
  it('takes the code of our own request', () => {
    expect(readCallback('?code=C1&state=abc', pending)).toEqual({ kind: 'code', code: 'C1' })
  })

  it('refuses a callback of another state, or when this tab began no login', () => {
    expect(readCallback('?code=C1&state=other', pending).kind).toBe('error')
    expect(readCallback('?code=C1&state=abc', null).kind).toBe('error')
  })

  it('passes on the server error', () => {
    expect(readCallback('?error=invalid_scope&error_description=no&state=abc', pending)).toEqual({
      kind: 'error',
      error: 'invalid_scope',
      description: 'no',
    })
  })
})

describe('refreshDelayMs', () => {
  it('refreshes a minute before a ten-minute token expires', () => {
    expect(refreshDelayMs(600)).toBe(540_000)
  })

  it('refreshes short tokens at four fifths, never sooner than five seconds', () => {
    expect(refreshDelayMs(100)).toBe(80_000)
    expect(refreshDelayMs(3)).toBe(5_000)
  })
})

describe('safeReturnPath', () => {
  it('returns only to paths of the app', () => {
    expect(safeReturnPath('/lab?x=1')).toBe('/lab?x=1')
    expect(safeReturnPath('//evil.example')).toBe('/')
    expect(safeReturnPath('https://evil.example')).toBe('/')
    expect(safeReturnPath('/callback?code=1')).toBe('/')
    expect(safeReturnPath(null)).toBe('/')
  })
})
