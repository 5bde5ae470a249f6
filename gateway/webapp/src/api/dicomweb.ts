// QIDO-RS searches of the gateway's DICOMweb (/dicomweb) with the person's token: DICOM JSON
// (PS3.18 F.2) in, nothing to see (204) as an empty list, the server's refusal as the error.
import { ApiError, apiFetch } from './client'

export const DICOMWEB = '/dicomweb'

export interface DicomElement {
  vr: string
  Value?: unknown[]
}

/** One QIDO-RS answer: attributes by tag (`0020000D` …). */
export type DicomJson = Record<string, DicomElement | undefined>

/** `GET /dicomweb/<path>?<query>`: the matches, [] when there are none. */
export async function qidoSearch(path: string, query?: URLSearchParams): Promise<DicomJson[]> {
  const search = query?.toString()
  const answer = await apiFetch(`${DICOMWEB}/${path}${search ? `?${search}` : ''}`, {
    headers: { Accept: 'application/dicom+json' },
  })
  if (answer.status === 204) return []
  const body = await answer.json().catch(() => null)
  if (!answer.ok) throw new ApiError(answer.status, body?.detail ?? answer.statusText)
  return body as DicomJson[]
}

/** The first value of a tag as text ('' when absent). */
export function textOf(document: DicomJson, tag: string): string {
  const value = document[tag]?.Value?.[0]
  return value === undefined || value === null || typeof value === 'object' ? '' : String(value)
}

/** Every value of a tag as text. */
export function textsOf(document: DicomJson, tag: string): string[] {
  return (document[tag]?.Value ?? []).map(String)
}

/** A person name (PN) the Chinese way: the ideographic group `张^三丰` as 张三丰, else the
 * alphabetic `Zhang^Sanfeng` as `Zhang Sanfeng`. */
export function personNameOf(document: DicomJson, tag: string): string {
  const name = document[tag]?.Value?.[0] as { Alphabetic?: string; Ideographic?: string } | undefined
  if (name?.Ideographic) return name.Ideographic.split('^').filter(Boolean).join('')
  return (name?.Alphabetic ?? '').split('^').filter(Boolean).join(' ')
}
