// A patient's identity number shown in full only when the person asks: the server decides
// (the same policy as reading the Patient) and records who asked, for whom and why
// (`Patient/{id}/$reveal-identifier`); hiding forgets the number again.
import { ref, type Ref } from 'vue'

import { fhirGet, fhirPost } from '../api/client'
import { resourcesOf, type Bundle, type Identifier, type Resource } from '../api/fhir'

export const ID_CARD_SYSTEM = 'urn:oid:2.16.156.10011.1.3' // 居民身份证号

interface RevealAnswer {
  resourceType: 'Parameters'
  parameter?: { name: string; valueIdentifier?: Identifier }[]
}

/** The identifier's value in the operation's answer (an error if it holds none). */
export function revealedValue(answer: RevealAnswer): string {
  const value = answer.parameter?.find((p) => p.name === 'identifier')?.valueIdentifier?.value
  if (!value) throw new Error('the server answered no identifier')
  return value
}

/** Ask the server for one identifier of a patient, whole. */
export async function revealIdentifier(
  patientId: string,
  system: string,
  reason = '',
): Promise<string> {
  const parameter: Record<string, string>[] = [{ name: 'system', valueUri: system }]
  if (reason) parameter.push({ name: 'reason', valueString: reason })
  const answer = await fhirPost<RevealAnswer>(
    `Patient/${encodeURIComponent(patientId)}/$reveal-identifier`,
    { resourceType: 'Parameters', parameter },
  )
  return revealedValue(answer)
}

/** No (single) patient record carries the identifier: there is nothing to reveal from. */
export class NoPatientRecord extends Error {
  constructor() {
    super('no single patient record carries this identifier')
  }
}

/** The id of the one Patient carrying ``identifier`` that the person may see (a page that
 * knows a patient only by an identifier, e.g. a study's PatientID and its issuer). */
export async function patientOfIdentifier(identifier: Identifier): Promise<string> {
  const token = `${identifier.system ?? ''}|${identifier.value ?? ''}`
  const bundle = await fhirGet<Bundle>(`Patient?identifier=${encodeURIComponent(token)}&_count=2`)
  const found = resourcesOf<'Patient', Resource>(bundle, 'Patient')
  if (found.length !== 1) throw new NoPatientRecord()
  return found[0].id
}

export interface IdentityReveal {
  /** The whole number while shown, else ''. */
  full: Ref<string>
  busy: Ref<boolean>
  /** Show (asking the server) or hide; a refusal is thrown and the number stays masked. */
  toggle: () => Promise<void>
  hide: () => void
}

export function useIdentityReveal(
  patientId: () => string | Promise<string>,
  system: () => string,
  reveal: typeof revealIdentifier = revealIdentifier,
): IdentityReveal {
  const full = ref('')
  const busy = ref(false)
  const hide = (): void => {
    full.value = ''
  }
  async function toggle(): Promise<void> {
    if (full.value) return hide()
    if (busy.value) return
    busy.value = true
    try {
      full.value = await reveal(await patientId(), system())
    } finally {
      busy.value = false
    }
  }
  return { full, busy, toggle, hide }
}
