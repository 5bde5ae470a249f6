import { beforeEach, describe, expect, it, vi } from 'vitest'

import { accessToken } from '../auth/session'
import { ApiError } from './client'
import { qidoSearch } from './dicomweb'

vi.mock('../auth/session', () => ({
  accessToken: vi.fn(),
  beginLogin: vi.fn(),
  refreshTokens: vi.fn(),
}))

const fetched = vi.fn<typeof fetch>()

beforeEach(() => {
  vi.resetAllMocks()
  vi.stubGlobal('fetch', fetched)
  vi.mocked(accessToken).mockReturnValue('T1')
})

describe('qidoSearch', () => {
  it('asks for DICOM JSON with the token and the query', async () => {
    fetched.mockResolvedValue(new Response('[{"0020000D":{"vr":"UI","Value":["1.2"]}}]'))
    const found = await qidoSearch('studies', new URLSearchParams({ PatientID: 'TX1' }))
    expect(found).toHaveLength(1)
    const [url, init] = fetched.mock.calls[0]
    expect(url).toBe('/dicomweb/studies?PatientID=TX1')
    const headers = new Headers(init?.headers)
    expect(headers.get('Accept')).toBe('application/dicom+json')
    expect(headers.get('Authorization')).toBe('Bearer T1')
  })

  it('reads no content as nothing found', async () => {
    fetched.mockResolvedValue(new Response(null, { status: 204 }))
    expect(await qidoSearch('studies')).toEqual([])
  })

  it('gives the server’s reason for a refusal', async () => {
    fetched.mockResolvedValue(new Response('{"detail":"limit must be a whole number"}', { status: 400 }))
    await expect(qidoSearch('studies')).rejects.toEqual(new ApiError(400, 'limit must be a whole number'))
  })
})
