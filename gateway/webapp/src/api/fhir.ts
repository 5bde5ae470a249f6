// The few FHIR R4 shapes the app reads, as the gateway serves them.

/** The canonical base of Yilian's own code systems, extensions and profiles. */
export const CANONICAL = 'http://yilian.example/fhir'

export interface Coding {
  system?: string
  code?: string
  display?: string
}

export interface CodeableConcept {
  coding?: Coding[]
  text?: string
}

export interface Reference {
  reference?: string
  display?: string
}

/** An extension (simple or complex) with the value types the app reads. */
export interface Extension {
  url: string
  valueString?: string
  valueDateTime?: string
  valueCoding?: Coding
  valueCodeableConcept?: CodeableConcept
  valueReference?: Reference
  extension?: Extension[]
}

export interface Identifier {
  system?: string
  value?: string
}

export interface Resource {
  resourceType: string
  id: string
  meta?: { lastUpdated?: string }
}

export interface Practitioner extends Resource {
  resourceType: 'Practitioner'
  identifier?: Identifier[]
  name?: { text?: string }[]
}

export interface PractitionerRole extends Resource {
  resourceType: 'PractitionerRole'
  practitioner?: Reference
  organization?: Reference
  code?: CodeableConcept[]
  healthcareService?: Reference[]
}

export interface Organization extends Resource {
  resourceType: 'Organization'
  name?: string
  identifier?: Identifier[]
  type?: CodeableConcept[]
}

export interface HealthcareService extends Resource {
  resourceType: 'HealthcareService'
  name?: string
}

export interface Bundle<T extends Resource = Resource> {
  resourceType: 'Bundle'
  entry?: { resource: T }[]
}

/** The resources of a Bundle of the given type (e.g. what ``_include`` brought). */
export function resourcesOf<K extends Resource['resourceType'], T extends Resource>(
  bundle: Bundle,
  resourceType: K,
): T[] {
  return (bundle.entry ?? [])
    .map((entry) => entry.resource)
    .filter((resource): resource is T => resource.resourceType === resourceType)
}

export function identifierValue(identifiers: Identifier[] | undefined, system: string): string {
  return identifiers?.find((identifier) => identifier.system === system)?.value ?? ''
}
