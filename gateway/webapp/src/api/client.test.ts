import { beforeEach, describe, expect, it, vi } from 'vitest'

import { accessToken, beginLogin, refreshTokens } from '../auth/session'
import { ApiError, apiFetch, fhirGet } from './client'

vi.mock('../auth/session', () => ({
  accessToken: vi.fn(),
  beginLogin: vi.fn(),
  refreshTokens: vi.fn(),
}))

const fetched = vi.fn<typeof fetch>()

function answer(status: number, body: unknown = {}): Response {
  return new Response(JSON.stringify(body), { status })
}

beforeEach(() => {
  vi.resetAllMocks()
  vi.stubGlobal('fetch', fetched)
  vi.mocked(accessToken).mockReturnValue('T1')
})

describe('apiFetch', () => {
  it('sends the bearer token', async () => {
    fetched.mockResolvedValue(answer(200))
    await apiFetch('/fhir/Patient')
    const headers = new Headers(fetched.mock.calls[0][1]?.headers)
    expect(headers.get('Authorization')).toBe('Bearer T1')
  })

  it('refreshes once on a 401 and sends the request again with the new token', async () => {
    fetched.mockResolvedValueOnce(answer(401)).mockResolvedValueOnce(answer(200))
    vi.mocked(refreshTokens).mockImplementation(async () => {
      vi.mocked(accessToken).mockReturnValue('T2')
      return true
    })
    expect((await apiFetch('/fhir/Patient')).status).toBe(200)
    const headers = new Headers(fetched.mock.calls[1][1]?.headers)
    expect(headers.get('Authorization')).toBe('Bearer T2')
    expect(beginLogin).not.toHaveBeenCalled()
  })

  it('asks for the login again when the refresh cannot mend a 401', async () => {
    fetched.mockResolvedValue(answer(401))
    vi.mocked(refreshTokens).mockResolvedValue(false)
    await expect(apiFetch('/fhir/Patient')).rejects.toBeInstanceOf(ApiError)
    expect(beginLogin).toHaveBeenCalledOnce()
  })
})

describe('fhirGet', () => {
  it("turns an OperationOutcome into the error's message", async () => {
    const outcome = { resourceType: 'OperationOutcome', issue: [{ diagnostics: 'no such type' }] }
    fetched.mockResolvedValue(answer(400, outcome))
    await expect(fhirGet('Nothing')).rejects.toThrow('no such type')
  })
})
