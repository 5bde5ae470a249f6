// The QIDO-RS search the study browser sends for what the person typed: the patient's name
// (any part of it), a patient ID or 居民身份证号, the modality, a date range and the member
// organization.  The server matches and limits it to what the person may see.
export const PAGE_SIZE = 50

export const MODALITIES = ['CT', 'MR', 'DX', 'CR', 'US', 'MG', 'XA', 'NM', 'PT', 'ECG', 'SM'] as const

// Returned beside QIDO's defaults: StudyDescription, IssuerOfPatientID (the member).
export const STUDY_FIELDS = ['00081030', '00100021']
// Series: SeriesDescription, SeriesNumber and number of images are defaults; and the body part.
export const SERIES_FIELDS = ['0008103E', '00180015']
// OtherPatientIDsSequence.PatientID: Yilian matches a 居民身份证号 across members' patient IDs.
export const ID_NUMBER_KEY = '00101002.00100020'

export interface StudyFilters {
  name: string
  patientId: string
  modality: string
  /** `YYYY-MM-DD` from and to, inclusive, or null. */
  dates: [string, string] | null
  organization: string
}

export function emptyFilters(): StudyFilters {
  return { name: '', patientId: '', modality: '', dates: null, organization: '' }
}

const RESIDENT_ID = /^(\d{17}[\dX]|\d{15})$/

/** Whether the text is shaped like a 居民身份证号 (18 characters, or the old 15 digits). */
export function isResidentId(text: string): boolean {
  return RESIDENT_ID.test(text.trim().toUpperCase())
}

/** QIDO's wildcards are `*` and `?`: a name is matched as any part of it unless the person
 * wrote wildcards themselves. */
function anyPart(text: string): string {
  return /[*?]/.test(text) ? text : `*${text}*`
}

function dicomDate(isoDay: string): string {
  return isoDay.replaceAll('-', '')
}

/** The query of one page of studies (one more than the page, to know whether more follow). */
export function studyQuery(filters: StudyFilters, offset = 0): URLSearchParams {
  const query = new URLSearchParams()
  const name = filters.name.trim()
  const id = filters.patientId.trim()
  if (name) query.set('PatientName', anyPart(name))
  if (id) {
    if (isResidentId(id)) query.set(ID_NUMBER_KEY, id.toUpperCase())
    else query.set('PatientID', id)
  }
  if (filters.modality) query.set('ModalitiesInStudy', filters.modality)
  if (filters.dates) {
    const [from, to] = filters.dates
    query.set('StudyDate', `${dicomDate(from)}-${dicomDate(to)}`)
  }
  if (filters.organization) query.set('IssuerOfPatientID', filters.organization)
  query.set('includefield', STUDY_FIELDS.join(','))
  query.set('limit', String(PAGE_SIZE + 1))
  query.set('offset', String(offset))
  return query
}

/** The series of one study, with the fields the browser shows. */
export function seriesQuery(): URLSearchParams {
  return new URLSearchParams({ includefield: SERIES_FIELDS.join(',') })
}
