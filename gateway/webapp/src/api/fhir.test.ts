import { describe, expect, it } from 'vitest'

import { identifierValue, resourcesOf, type Bundle, type Organization } from './fhir'

const bundle: Bundle = {
  resourceType: 'Bundle',
  entry: [
    { resource: { resourceType: 'PractitionerRole', id: 'sunli' } },
    { resource: { resourceType: 'Organization', id: 'wcrm' } },
  ],
}

describe('FHIR helpers', () => {
  it('pick the resources of one type from a Bundle', () => {
    expect(resourcesOf<'Organization', Organization>(bundle, 'Organization').map((r) => r.id)).toEqual([
      'wcrm',
    ])
    expect(resourcesOf({ resourceType: 'Bundle' }, 'Organization')).toEqual([])
  })

  it('find an identifier by its system', () => {
    const identifiers = [{ system: 'urn:yilian:uscc', value: '12330700' }]
    expect(identifierValue(identifiers, 'urn:yilian:uscc')).toBe('12330700')
    expect(identifierValue(identifiers, 'urn:other')).toBe('')
  })
})
