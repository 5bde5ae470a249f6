import { beforeEach, describe, expect, it, vi } from 'vitest'

import {
  NoPatientRecord,
  patientOfIdentifier,
  revealIdentifier,
  revealedValue,
  useIdentityReveal,
} from './identityReveal'

vi.mock('../auth/session', () => ({
  accessToken: () => 'T1',
  beginLogin: vi.fn(),
  refreshTokens: vi.fn(),
}))

const fetched = vi.fn<typeof fetch>()
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status })

beforeEach(() => {
  fetched.mockReset()
  vi.stubGlobal('fetch', fetched)
})

const answer = (value?: string) => ({
  resourceType: 'Parameters' as const,
  parameter: value ? [{ name: 'identifier', valueIdentifier: { system: 's', value } }] : [],
})

describe('revealedValue', () => {
  it('reads the identifier the server answered', () => {
    expect(revealedValue(answer('330702198001011234'))).toBe('330702198001011234')
  })

  it('refuses an answer without one', () => {
    expect(() => revealedValue(answer())).toThrow('no identifier')
  })
})

describe('useIdentityReveal', () => {
  it('asks the server for this patient and system, shows the answer, hides and forgets it', async () => {
    const asked: string[][] = []
    const reveal = useIdentityReveal(
      async () => 'p1', // found first, e.g. by a study's PatientID
      () => 'urn:oid:2.16.156.10011.1.3',
      async (patient, system) => {
        asked.push([patient, system])
        return '330702198001011234'
      },
    )
    expect(reveal.full.value).toBe('')
    await reveal.toggle()
    expect(reveal.full.value).toBe('330702198001011234')
    expect(asked).toEqual([['p1', 'urn:oid:2.16.156.10011.1.3']])
    await reveal.toggle()
    expect(reveal.full.value).toBe('')
    await reveal.toggle() // shown again: asked again (and recorded again)
    expect(asked).toHaveLength(2)
  })

  it('stays masked when the server refuses', async () => {
    const reveal = useIdentityReveal(
      () => 'p2',
      () => 's',
      async () => {
        throw new Error('Patient/p2 is not known')
      },
    )
    await expect(reveal.toggle()).rejects.toThrow('is not known')
    expect(reveal.full.value).toBe('')
    expect(reveal.busy.value).toBe(false)
  })
})

describe('revealIdentifier', () => {
  it('POSTs the system and the reason to the Patient operation', async () => {
    fetched.mockResolvedValue(json(answer('330702198001011234')))
    expect(await revealIdentifier('p/1', 'urn:oid:2.16.156.10011.1.3', '核对')).toBe(
      '330702198001011234',
    )
    const [url, init] = fetched.mock.calls[0]
    expect(url).toBe('/fhir/Patient/p%2F1/$reveal-identifier')
    expect(init?.method).toBe('POST')
    expect(JSON.parse(String(init?.body))).toEqual({
      resourceType: 'Parameters',
      parameter: [
        { name: 'system', valueUri: 'urn:oid:2.16.156.10011.1.3' },
        { name: 'reason', valueString: '核对' },
      ],
    })
  })

  it("gives the server's refusal as the error", async () => {
    fetched.mockResolvedValue(json({ resourceType: 'OperationOutcome', issue: [{ diagnostics: 'Patient/x is not known' }] }, 404))
    await expect(revealIdentifier('x', 's')).rejects.toThrow('Patient/x is not known')
  })
})

describe('patientOfIdentifier', () => {
  const bundle = (ids: string[]) => ({
    resourceType: 'Bundle',
    entry: ids.map((id) => ({ resource: { resourceType: 'Patient', id } })),
  })

  it('searches the Patient by system|value', async () => {
    fetched.mockResolvedValue(json(bundle(['p7'])))
    expect(await patientOfIdentifier({ system: 'urn:yilian:patient-id:tx-wsy', value: 'TX1' })).toBe('p7')
    expect(fetched.mock.calls[0][0]).toBe(
      `/fhir/Patient?identifier=${encodeURIComponent('urn:yilian:patient-id:tx-wsy|TX1')}&_count=2`,
    )
  })

  it('refuses none or several', async () => {
    fetched.mockResolvedValueOnce(json(bundle([]))).mockResolvedValueOnce(json(bundle(['a', 'b'])))
    await expect(patientOfIdentifier({ system: 's', value: 'v' })).rejects.toBeInstanceOf(NoPatientRecord)
    await expect(patientOfIdentifier({ system: 's', value: 'v' })).rejects.toBeInstanceOf(NoPatientRecord)
  })
})
