import { describe, expect, it } from 'vitest'

import { base64url, challengeS256, randomToken } from './pkce'

describe('PKCE', () => {
  it('computes the S256 challenge of RFC 7636 appendix B', async () => {
    const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'
    expect(await challengeS256(verifier)).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM')
  })

  it('makes verifiers of 43 unreserved characters, different each time', () => {
    const first = randomToken()
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(randomToken()).not.toBe(first)
  })

  it('encodes base64url without padding or + and /', () => {
    expect(base64url(new Uint8Array([0xfb, 0xff, 0xfe]))).toBe('-__-')
    expect(base64url(new Uint8Array([0x61]))).toBe('YQ')
  })
})
