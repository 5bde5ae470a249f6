import { describe, expect, it } from 'vitest'

import { touched } from './operations'

describe('what an access record touched', () => {
  it('reads out a FHIR read, a search, an HL7 message, a C-STORE and a registry change', () => {
    expect(touched({ resource_type: 'Patient', id: '7' })).toBe('Patient/7')
    expect(touched({ resource_type: 'Patient', ids: ['7'], matches: 1 })).toBe('Patient/7')
    expect(touched({ resource_type: 'Observation', ids: ['1', '2', '3'] })).toBe('Observation ×3')
    expect(touched({ resource_type: 'Task', ids: [] })).toBe('Task')
    expect(touched({ message_type: 'ORU^R01', resources: ['Observation/1', 'Observation/2', 'Specimen/3'] }))
      .toBe('Observation/1 … ×3')
    expect(touched({ study_uid: '1.2.3', sop_instance_uid: '1.2.3.4' })).toBe('Study 1.2.3')
    expect(touched({ section: 'ae_titles', key: 'TX_US1', fields: ['ae_title'] })).toBe('ae_titles TX_US1')
    expect(touched({ outbox_event: 12 })).toBe('outbox_event 12')
  })
})
