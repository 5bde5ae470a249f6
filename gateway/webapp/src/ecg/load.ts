// The ECG recordings of an order as the reader's token finds them over FHIR — those derived
// from the order's studies (a cart's DICOM waveform) and those uploaded for the order (HL7
// aECG, `basedOn` it), as the server's report names them (workflow/ecg_reading.py) — and the
// centre's coded conclusions (the CodeSystem ecg-conclusion).
import { fhirGet } from '../api/client'
import { resourcesOf, type Bundle } from '../api/fhir'
import { codeSystem, type CodeSystem } from '../api/terminology'
import { studiesOfOrder } from '../reading/load'
import { ECG_POTENTIAL, MDC, type EcgObservation } from './recording'
import { CONCLUSION_SYSTEM } from './report'

const ECG = `code=${encodeURIComponent(`${MDC}|${ECG_POTENTIAL}`)}`

async function observations(query: string): Promise<EcgObservation[]> {
  const bundle = await fhirGet<Bundle>(`Observation?${ECG}&${query}&_count=50`)
  return resourcesOf<'Observation', EcgObservation>(bundle, 'Observation')
}

/** The order's ECG Observations, one each, by id. */
export async function recordingsOfOrder(orderId: string): Promise<EcgObservation[]> {
  const studies = await studiesOfOrder(orderId)
  const targets = studies.map((study) => `ImagingStudy/${study.id}`).join(',')
  const [derived, based] = await Promise.all([
    targets ? observations(`derived-from=${encodeURIComponent(targets)}`) : [],
    observations(`based-on=ServiceRequest/${encodeURIComponent(orderId)}`),
  ])
  const found = new Map([...derived, ...based].map((observation) => [observation.id, observation]))
  return [...found.keys()].sort().map((id) => found.get(id)!)
}

/** The ECG centre's conclusions as the server publishes them. */
export async function conclusionCodeSystem(): Promise<CodeSystem | undefined> {
  return codeSystem(CONCLUSION_SYSTEM)
}
