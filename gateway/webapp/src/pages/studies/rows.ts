// What one row of the study browser shows of a QIDO-RS answer.
import { personNameOf, textOf, textsOf, type DicomJson } from '../../api/dicomweb'

/** How a member's own patient ids (a study's PatientID, issued by IssuerOfPatientID) are
 * written as Patient.identifier systems. */
export const PATIENT_ID_SYSTEM = 'urn:yilian:patient-id:'

export interface StudyRow {
  studyUid: string
  patientName: string
  patientId: string
  sex: string
  /** `2026-11-01 09:30` as the modality recorded it (the clinic's wall clock). */
  performed: string
  modalities: string[]
  description: string
  accession: string
  organization: string
  series: number
  images: number
}

export interface SeriesRow {
  seriesUid: string
  number: string
  modality: string
  description: string
  bodyPart: string
  images: number
}

/** `20261101` + `093000.123` → `2026-11-01 09:30`; the date alone when there is no time. */
export function dicomDateTime(date: string, time: string): string {
  if (!/^\d{8}$/.test(date)) return ''
  const day = `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}`
  if (!/^\d{4}/.test(time)) return day
  return `${day} ${time.slice(0, 2)}:${time.slice(2, 4)}`
}

export function studyRow(document: DicomJson): StudyRow {
  return {
    studyUid: textOf(document, '0020000D'),
    patientName: personNameOf(document, '00100010'),
    patientId: textOf(document, '00100020'),
    sex: textOf(document, '00100040'),
    performed: dicomDateTime(textOf(document, '00080020'), textOf(document, '00080030')),
    modalities: textsOf(document, '00080061'),
    description: textOf(document, '00081030'),
    accession: textOf(document, '00080050'),
    organization: textOf(document, '00100021'),
    series: Number(textOf(document, '00201206')) || 0,
    images: Number(textOf(document, '00201208')) || 0,
  }
}

export function seriesRow(document: DicomJson): SeriesRow {
  return {
    seriesUid: textOf(document, '0020000E'),
    number: textOf(document, '00200011'),
    modality: textOf(document, '00080060'),
    description: textOf(document, '0008103E'),
    bodyPart: textOf(document, '00180015'),
    images: Number(textOf(document, '00201209')) || 0,
  }
}
