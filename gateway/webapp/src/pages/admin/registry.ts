// The registry as the admin API shows it, and how each section's form maps onto an entry of
// the alliance file.  No rule lives here: the server checks every entry (as it checks the
// alliance file) and the page shows its answer.
import { adminCall } from './api'

export type Entry = Record<string, unknown>
export type SectionName =
  | 'organizations'
  | 'centres'
  | 'ae_titles'
  | 'mllp_peers'
  | 'api_clients'
  | 'users'
  | 'alliances'

export interface Choice {
  code: string
  label: string
}

export interface Registry {
  sections: Record<SectionName, Entry[]>
  manages: { alliances: string[]; organizations: string[] }
  removable: SectionName[]
  choices: Record<string, Choice[]>
}

/** Where a select's options come from: the registry itself, or a code list of the server. */
export type Options =
  | 'organizations'
  | 'alliances'
  | 'organizationKind'
  | 'centreKind'
  | 'aeKind'
  | 'role'
  | 'encoding'
  | 'orderMessage'

export interface Field {
  name: string
  kind: 'text' | 'number' | 'select' | 'multi' | 'words' | 'password' | 'switch'
  options?: Options
  /** The entry's key: given when created, fixed afterwards. */
  key?: boolean
  /** Shown in the table. */
  column?: boolean
  /** Only in the form that creates an entry. */
  createOnly?: boolean
}

export interface Section {
  name: SectionName
  fields: Field[]
  /** API clients: a new one gets a generated secret, shown once; it can be rotated. */
  secret?: boolean
}

const organization: Field = {
  name: 'organization',
  kind: 'select',
  options: 'organizations',
  column: true,
}

export const SECTIONS: Section[] = [
  {
    name: 'organizations',
    fields: [
      { name: 'id', kind: 'text', key: true, column: true },
      { name: 'name', kind: 'text', column: true },
      { name: 'kind', kind: 'select', options: 'organizationKind', column: true },
      { name: 'national_id', kind: 'text', column: true },
      { name: 'alliance', kind: 'select', options: 'alliances', createOnly: true },
    ],
  },
  {
    name: 'centres',
    fields: [
      { name: 'id', kind: 'text', key: true, column: true },
      { name: 'name', kind: 'text', column: true },
      { name: 'kind', kind: 'select', options: 'centreKind', column: true },
      { name: 'alliance', kind: 'select', options: 'alliances' },
      { ...organization },
      { name: 'serves', kind: 'multi', options: 'organizations', column: true },
      { name: 'single_sign_off', kind: 'switch' },
    ],
  },
  {
    name: 'ae_titles',
    fields: [
      { name: 'ae_title', kind: 'text', key: true, column: true },
      { ...organization },
      { name: 'kind', kind: 'select', options: 'aeKind', column: true },
      { name: 'description', kind: 'text', column: true },
      { name: 'host', kind: 'text', column: true },
      { name: 'port', kind: 'number', column: true },
    ],
  },
  {
    name: 'mllp_peers',
    fields: [
      { name: 'id', kind: 'text', key: true, column: true },
      { ...organization },
      { name: 'sending_application', kind: 'text', column: true },
      { name: 'sending_facility', kind: 'text', column: true },
      { name: 'encoding', kind: 'select', options: 'encoding', column: true },
      { name: 'host', kind: 'text' },
      { name: 'port', kind: 'number' },
      { name: 'order_message', kind: 'select', options: 'orderMessage' },
    ],
  },
  {
    name: 'api_clients',
    secret: true,
    fields: [
      { name: 'client_id', kind: 'text', key: true, column: true },
      { name: 'name', kind: 'text', column: true },
      { ...organization },
      { name: 'scopes', kind: 'words', column: true },
    ],
  },
  {
    name: 'users',
    fields: [
      { name: 'username', kind: 'text', key: true, column: true },
      { name: 'name', kind: 'text', column: true },
      { ...organization },
      { name: 'practitioner_id', kind: 'text' },
      { name: 'roles', kind: 'multi', options: 'role', column: true },
      { name: 'password', kind: 'password' },
    ],
  },
]

export function keyField(section: Section): string {
  return section.fields.find((field) => field.key)?.name ?? 'id'
}

/** The form's values for an entry (empty ones for a new entry). */
export function formValues(section: Section, entry: Entry | null): Entry {
  const values: Entry = {}
  for (const field of section.fields) {
    const value = entry?.[field.name]
    if (field.kind === 'multi') values[field.name] = Array.isArray(value) ? [...value] : []
    else if (field.kind === 'words') values[field.name] = Array.isArray(value) ? value.join(' ') : ''
    else if (field.kind === 'switch') values[field.name] = value === true
    else if (field.kind === 'number') values[field.name] = typeof value === 'number' ? value : null
    else values[field.name] = typeof value === 'string' ? value : ''
  }
  return values
}

/** The entry to send: the existing entry's other fields kept (a centre's templates…), the
 * form's fields over them, empty ones left out (the file's "not given"). */
export function entryFrom(section: Section, values: Entry, existing: Entry | null): Entry {
  const entry: Entry = { ...(existing ?? {}) }
  delete entry.hasSecret
  for (const field of section.fields) {
    if (field.createOnly && existing) continue
    const value = values[field.name]
    delete entry[field.name]
    if (field.kind === 'words') {
      const words = String(value ?? '').split(/[\s,]+/).filter(Boolean)
      if (words.length) entry[field.name] = words
    } else if (field.kind === 'switch') {
      entry[field.name] = value === true
    } else if (field.kind === 'multi') {
      if (Array.isArray(value) && value.length) entry[field.name] = value
    } else if (value !== '' && value !== null && value !== undefined) {
      entry[field.name] = typeof value === 'string' ? value.trim() : value
    }
  }
  return entry
}

/** The choices of a select: organizations and alliances by name, codes by their label. */
export function optionsOf(registry: Registry, options: Options): Choice[] {
  if (options === 'organizations' || options === 'alliances') {
    return registry.sections[options].map((entry) => ({
      code: String(entry.id),
      label: `${String(entry.name)}（${String(entry.id)}）`,
    }))
  }
  return registry.choices[options] ?? []
}

/** The label of a code in a select's choices (the code itself when unknown). */
export function labelOf(registry: Registry, options: Options | undefined, code: string): string {
  if (!options) return code
  return optionsOf(registry, options).find((choice) => choice.code === code)?.label ?? code
}

/** A table cell: lists joined, codes by their label. */
export function cell(registry: Registry, field: Field, value: unknown): string {
  const label = (code: unknown): string => labelOf(registry, field.options, String(code))
  if (Array.isArray(value)) return value.map(label).join(field.kind === 'words' ? ' ' : '、')
  if (value === null || value === undefined) return ''
  return label(value)
}

export interface Saved {
  entry: Entry | null
  /** A new API client's secret, in this one answer only. */
  secret?: string
}

export function loadRegistry(): Promise<Registry> {
  return adminCall<Registry>('GET', '/registry')
}

export function saveEntry(section: Section, entry: Entry, key: string | null): Promise<Saved> {
  return key === null
    ? adminCall<Saved>('POST', `/registry/${section.name}`, entry)
    : adminCall<Saved>('PUT', `/registry/${section.name}/${encodeURIComponent(key)}`, entry)
}

export function removeEntry(section: Section, key: string): Promise<null> {
  return adminCall<null>('DELETE', `/registry/${section.name}/${encodeURIComponent(key)}`)
}

export function rotateSecret(clientId: string): Promise<Saved> {
  return adminCall<Saved>('POST', `/registry/api_clients/${encodeURIComponent(clientId)}/$rotate-secret`)
}
