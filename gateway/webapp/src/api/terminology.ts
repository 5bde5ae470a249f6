// The code systems the server publishes (ecg-conclusion, ihc-marker, ihc-result …), read by
// their canonical URL, and a concept's label in the app's language.
import { fhirGet } from './client'
import { resourcesOf, type Bundle } from './fhir'

export interface CodeSystemConcept {
  code: string
  display?: string
  designation?: { language?: string; value: string }[]
  property?: { code: string; valueBoolean?: boolean; valueCoding?: { system?: string; code?: string; display?: string } }[]
}

export interface CodeSystem {
  resourceType: 'CodeSystem'
  id: string
  url: string
  concept?: CodeSystemConcept[]
}

/** The CodeSystem with this canonical URL, as the server publishes it. */
export async function codeSystem(url: string): Promise<CodeSystem | undefined> {
  const bundle = await fhirGet<Bundle>(`CodeSystem?url=${encodeURIComponent(url)}`)
  return resourcesOf<'CodeSystem', CodeSystem>(bundle, 'CodeSystem')[0]
}

/** A concept's display in English (its `en` designation) or as the server wrote it (zh-CN). */
export function conceptLabel(concept: CodeSystemConcept, locale: string): string {
  const english = locale === 'en' ? concept.designation?.find((d) => d.language === 'en')?.value : undefined
  return english ?? concept.display ?? concept.code
}
